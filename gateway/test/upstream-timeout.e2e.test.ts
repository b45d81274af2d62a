import { createServer, type Server, type Socket } from 'node:net';
import { loadSubgraphs } from '@shop/infra';
import { codes, createTestKeys, expectNoLeak, postGraphQL, testLogger } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeSupergraph } from '../src/compose';
import { type RunningGateway, startGateway } from '../src/gateway';

// SUBGRAPH_TIMEOUT_MS: a subgraph that accepts the connection and never answers fails its fields with
// SUBGRAPH_TIMEOUT once the bound has passed, instead of holding the client's request (and a socket) for ever.

const TIMEOUT_MS = 500;

describe('a subgraph that never answers', () => {
  let silent: Server;
  const sockets: Socket[] = [];
  let gateway: RunningGateway;

  beforeAll(async () => {
    // Accepts, reads, never writes a byte.
    silent = createServer((socket) => {
      sockets.push(socket);
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const urls: Record<string, string> = {};
    for (const { name } of await loadSubgraphs()) urls[name] = `http://127.0.0.1:${port}/graphql`;
    const { supergraphSdl } = await composeSupergraph(urls);
    gateway = await startGateway({
      supergraphSdl,
      port: 0,
      host: '127.0.0.1',
      tokenVerifier: (await createTestKeys()).verifier,
      logger: testLogger('gateway'),
      subgraphTimeoutMs: TIMEOUT_MS,
    });
  });

  afterAll(async () => {
    await gateway?.stop();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent?.close(resolve));
  });

  it('fails the field with SUBGRAPH_TIMEOUT after the bound, without the subgraph address', async () => {
    const started = performance.now();
    const result = await postGraphQL(gateway.url, '{ products(first: 1) { totalCount } }');
    const elapsed = performance.now() - started;
    expect(codes(result)).toEqual(['SUBGRAPH_TIMEOUT']);
    expect(result.data).toBeNull();
    expectNoLeak(JSON.stringify(result));
    // Not before the bound; and answered long before the 10 s default would have (a loaded box is slow, not 20×).
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(10_000);
  });

  it('keeps serving after timeouts: the next request times out the same way', async () => {
    const results = await Promise.all(
      [1, 2, 3].map(() => postGraphQL(gateway.url, '{ products(first: 1) { totalCount } }')),
    );
    for (const result of results) expect(codes(result)).toEqual(['SUBGRAPH_TIMEOUT']);
  });
});
