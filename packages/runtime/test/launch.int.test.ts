import { fileURLToPath } from 'node:url';
import { badUserInput, type RequestContext } from '@shop/kit';
import { createTestKeys, createTestRedis, postGraphQL, type TestRedis, testLogger } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineSubgraph, type LaunchedSubgraph, launchSubgraph, subgraphEnv } from '../src';

const events: string[] = [];

// A subgraph of the launcher's own: Redis, an HTTP route with a raw body, a background service.
const sample = defineSubgraph({
  name: 'sample',
  env: subgraphEnv({ port: 3999, uses: ['redis'], own: { GREETING: z.string().default('hello') } }),
  schemaPath: fileURLToPath(new URL('./fixture/schema.graphql', import.meta.url)),
  build: async ({ config, redis }) => ({
    resolvers: {
      Query: {
        hits: () => redis.client.incr('hits'),
        now: () => new Date('2026-02-01T12:00:00.000Z'),
      },
    },
    createContext: (base: RequestContext) => base,
    routes: [
      {
        method: 'post',
        path: '/webhooks/echo',
        body: 'raw',
        handler: async ({ body, headers }) => {
          if (headers['x-signature'] !== 'ok') throw badUserInput('Bad signature');
          const raw = body as Buffer;
          return { body: { greeting: config.GREETING, bytes: raw.length, text: raw.toString('utf8') } };
        },
      },
      {
        method: 'get',
        path: '/explode',
        handler: async () => {
          throw new Error('secret database password leaked in a message');
        },
      },
    ],
    background: [
      {
        name: 'ticker',
        start: () => events.push('ticker started'),
        stop: async () => events.push('ticker stopped'),
        readiness: async () => {},
      },
    ],
  }),
});

describe('launchSubgraph', () => {
  let redis: TestRedis;
  let running: LaunchedSubgraph;

  beforeAll(async () => {
    redis = await createTestRedis();
    const keys = await createTestKeys();
    running = await launchSubgraph(sample, {
      env: { JWT_PUBLIC_KEY: keys.publicKeyPem, REDIS_KEY_PREFIX: redis.prefix, GREETING: 'hi' },
      port: 0,
      host: '127.0.0.1',
      logger: testLogger('sample'),
    });
  });

  afterAll(async () => {
    await running?.stop();
    await redis?.cleanup();
  });

  it('serves the schema with the shared scalars, over Redis keys under the configured prefix', async () => {
    const result = await postGraphQL(running.url, '{ hits now }');
    expect(result.data).toEqual({ hits: 1, now: '2026-02-01T12:00:00.000Z' });
    expect(await redis.redis.get('hits')).toBe('1');
  });

  it('reports readiness under the shared names: the models used and the background services', async () => {
    const response = await fetch(new URL('/health/ready', running.url));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', checks: { redis: 'ok', ticker: 'ok' } });
    expect(events).toEqual(['ticker started']);
  });

  it('hands a raw-body route the exact bytes and answers coded JSON errors', async () => {
    const url = new URL('/webhooks/echo', running.url);
    const body = '{"a": 1,   "b":"é"}';
    const ok = await fetch(url, { method: 'POST', headers: { 'x-signature': 'ok' }, body });
    expect(await ok.json()).toEqual({ greeting: 'hi', bytes: Buffer.byteLength(body), text: body });

    const refused = await fetch(url, { method: 'POST', body });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ error: { code: 'BAD_USER_INPUT', message: 'Bad signature' } });

    const tooLarge = await fetch(url, {
      method: 'POST',
      headers: { 'x-signature': 'ok' },
      body: 'x'.repeat(2_000_000),
    });
    expect(tooLarge.status).toBe(413);
    expect(((await tooLarge.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');

    const crash = await fetch(new URL('/explode', running.url));
    expect(crash.status).toBe(500);
    const text = await crash.text();
    expect(JSON.parse(text)).toEqual({
      error: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' },
    });
    expect(text).not.toContain('secret');
  });

  it('refuses to start with every settings problem named', async () => {
    await expect(launchSubgraph(sample, { env: { REDIS_URL: 'http://nope' } })).rejects.toThrow(
      /JWT_PUBLIC_KEY[\s\S]*REDIS_URL|REDIS_URL[\s\S]*JWT_PUBLIC_KEY/,
    );
  });

  it('stops background services on stop()', async () => {
    const keys = await createTestKeys();
    const other = await launchSubgraph(sample, {
      env: { JWT_PUBLIC_KEY: keys.publicKeyPem, REDIS_KEY_PREFIX: redis.prefix },
      port: 0,
      host: '127.0.0.1',
      logger: testLogger('sample'),
    });
    events.length = 0;
    await other.stop();
    expect(events).toEqual(['ticker stopped']);
    await expect(fetch(new URL('/health/live', other.url))).rejects.toThrow();
  });
});
