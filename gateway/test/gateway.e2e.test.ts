import { loadSubgraphs } from '@shop/infra';
import { createTestKeys, freePort, postGraphQL, testLogger } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeSupergraph } from '../src/compose';
import { type RunningGateway, startGateway } from '../src/gateway';

// The gateway on its own, in front of subgraphs that are not running.
describe('gateway guards', () => {
  let gateway: RunningGateway;

  beforeAll(async () => {
    // Every subgraph at an address nothing listens on.
    const deadUrls: Record<string, string> = {};
    for (const { name } of await loadSubgraphs())
      deadUrls[name] = `http://127.0.0.1:${await freePort()}/graphql`;
    const { supergraphSdl } = await composeSupergraph(deadUrls);
    gateway = await startGateway({
      supergraphSdl,
      port: 0,
      host: '127.0.0.1',
      tokenVerifier: (await createTestKeys()).verifier,
      logger: testLogger('gateway'),
      maxQueryDepth: 4,
    });
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  it('does not leak internal addresses or stack traces when a subgraph is down', async () => {
    const result = await postGraphQL(gateway.url, '{ products(first: 1) { totalCount } }');
    expect(result.errors?.length).toBeGreaterThan(0);
    const body = JSON.stringify(result);
    expect(body).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|stacktrace|at .*\.js/);
  });

  it('refuses operations nested deeper than the limit before planning them', async () => {
    const result = await postGraphQL(gateway.url, '{ products { edges { node { price { amount } } } } }');
    expect(result.status).toBe(400);
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0]?.message).toMatch(/limit is 4/);
  });
});
