import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { loadSubgraphs, projectRoot } from '@shop/infra';
import {
  createTestKafka,
  createTestRedis,
  freePort,
  postGraphQL,
  type TestKafka,
  type TestRedis,
  waitFor,
  withPostgresAdmin,
} from '@shop/testing';
import { afterAll, describe, expect, it } from 'vitest';

// `pnpm start` as a newcomer runs it, but beside a developer's own supergraph: on free ports, with databases,
// Kafka topics and Redis keys of its own (dropped afterwards): migrations, seed, every subgraph, the gateway;
// then Ctrl-C stops every process it started.
describe('pnpm start', () => {
  let start: ChildProcess | undefined;
  const output: string[] = [];
  // Named like the testkit's databases, so a crashed run's leftovers are dropped by a later run.
  const databasePrefix = `shoptest_${Date.now()}_${randomUUID().slice(0, 8)}_`;
  let kafka: TestKafka | undefined;
  let redis: TestRedis | undefined;

  afterAll(async () => {
    await stopStart();
    await kafka?.cleanup();
    await redis?.cleanup();
    await withPostgresAdmin(async (client) => {
      const { rows } = await client.query<{ datname: string }>(
        'SELECT datname FROM pg_database WHERE datname LIKE $1',
        [`${databasePrefix}%`],
      );
      for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    });
  });

  async function stopStart() {
    // On a failure, stop it the way a user would (it then stops its children), and only then force it.
    if (start?.exitCode !== null || start.signalCode !== null) return;
    const exited = new Promise((resolve) => start?.once('exit', resolve));
    start.kill('SIGINT');
    const timer = setTimeout(() => start?.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }

  it('brings the supergraph up with seeded data and stops it on SIGINT', async () => {
    [kafka, redis] = await Promise.all([createTestKafka(), createTestRedis()]);
    const ports: Record<string, number> = { GATEWAY_PORT: await freePort() };
    for (const { name } of await loadSubgraphs()) ports[`${name.toUpperCase()}_PORT`] = await freePort();
    start = spawn(
      join(projectRoot, 'node_modules', '.bin', 'tsx'),
      ['packages/infra/src/start-supergraph.ts'],
      {
        cwd: projectRoot,
        env: {
          ...process.env,
          ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
          SHOP_DATABASE_PREFIX: databasePrefix,
          KAFKA_TOPIC_PREFIX: kafka.prefix,
          REDIS_KEY_PREFIX: redis.prefix,
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    start.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    start.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const exited = new Promise<number | null>((resolve) => start?.once('exit', (code) => resolve(code)));

    await waitFor('the supergraph to be up', () => output.join('').includes('The supergraph is up'), {
      timeoutMs: 120_000,
      intervalMs: 250,
    }).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n--- output ---\n${output.join('')}`);
    });

    const gateway = `http://localhost:${ports.GATEWAY_PORT}/graphql`;
    const result = await postGraphQL<{
      products: { edges: { node: { name: string; price: { amount: string; currency: string } } }[] };
    }>(gateway, '{ products(first: 3) { edges { node { name price { amount currency } } } } }');
    expect(result.errors).toBeUndefined();
    expect(result.data?.products.edges).toHaveLength(3);
    for (const { node } of result.data?.products.edges ?? []) {
      expect(node.name).not.toBe('');
      expect(node.price.amount).toMatch(/^\d+\.\d{2}$/);
    }
    const login = await postGraphQL<{ login: { user: { role: string } } }>(
      gateway,
      'mutation { login(email: "admin@example.com", password: "admin123") { user { role } } }',
    );
    expect(login.data?.login.user.role).toBe('ADMIN');

    start.kill('SIGINT');
    expect(await exited).toBe(0);
    for (const port of Object.values(ports)) {
      await expect(fetch(`http://localhost:${port}/health/live`)).rejects.toThrow();
    }
    // Its own budget: every subgraph and the gateway start as processes (up to 120 s above on a loaded box),
    // then SIGINT stops them all; the project's 60 s is for tests that start in-process.
  }, 180_000);
});
