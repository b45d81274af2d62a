import { randomBytes } from 'node:crypto';
import { ShopClient } from '@shop/client';
import {
  type DatabaseSnapshot,
  snapshotDatabase,
  snapshotRedis,
  startTestSubgraphs,
  type TestKafka,
  type TestKeys,
  type TestSubgraph,
  testLogger,
  waitFor,
} from '@shop/testing';
import { composeSupergraph } from '../src/compose';
import { type GatewayOptions, type RunningGateway, startGateway } from '../src/gateway';

/** The demo accounts every subgraph's seed defaults to (users' SEED_* settings). */
export const demo = {
  customer: { email: 'test@example.com', password: 'password123' },
  admin: { email: 'admin@example.com', password: 'admin123' },
};

export interface TestSupergraph {
  gateway: RunningGateway;
  /** Every subgraph of subgraphs/registry.ts, by name. */
  subgraphs: Record<string, TestSubgraph>;
  /** An anonymous typed client of the gateway; `.as(token)` acts as someone. */
  client: ShopClient;
  keys: TestKeys;
  /** The Kafka prefix every subgraph shares (to publish or read events in a test). */
  kafka: TestKafka;
  stop: () => Promise<void>;
}

/**
 * The real supergraph in-process: every registered subgraph launched as in production over its own fresh
 * database, all sharing one key pair, one Kafka topic prefix and one Redis key prefix (so events flow between
 * them), seeded with the demo data, composed with their test URLs behind the real gateway.
 */
export async function startTestSupergraph(
  options: {
    only?: readonly string[];
    env?: Record<string, string>;
    /** Gateway options on top of the test ones (a per-client rate limit, say). */
    gateway?: Partial<GatewayOptions>;
  } = {},
): Promise<TestSupergraph> {
  // The gateway signs the client address it forwards; users and products believe it (forwarded-client.ts).
  const gatewaySecret = randomBytes(32).toString('base64url');
  // With `only`, the other registered subgraphs are composed in but not started (their fields fail).
  const started = await startTestSubgraphs({
    ...options,
    env: { GATEWAY_SECRET: gatewaySecret, ...options.env },
    seed: true,
  });
  try {
    const { supergraphSdl } = await composeSupergraph(
      Object.fromEntries(Object.entries(started.subgraphs).map(([name, subgraph]) => [name, subgraph.url])),
    );
    const gateway = await startGateway({
      supergraphSdl,
      port: 0,
      host: '127.0.0.1',
      tokenVerifier: started.keys.verifier,
      logger: testLogger('gateway'),
      gatewaySecret,
      ...options.gateway,
    });
    return {
      gateway,
      subgraphs: started.subgraphs,
      client: new ShopClient(gateway.url),
      keys: started.keys,
      kafka: started.kafka,
      stop: async () => {
        await gateway.stop();
        await started.stop();
      },
    };
  } catch (error) {
    await started.stop();
    throw error;
  }
}

export interface SupergraphSnapshot {
  databases: Record<string, DatabaseSnapshot>;
  redis: Record<string, string>;
}

/** Every subgraph's database and the Redis they share (keys matching `ignoreRedisKeys` left out). */
export async function snapshotSupergraph(
  supergraph: TestSupergraph,
  options: { ignoreRedisKeys?: RegExp } = {},
): Promise<SupergraphSnapshot> {
  const subgraphs = Object.entries(supergraph.subgraphs);
  const databases = Object.fromEntries(
    await Promise.all(
      subgraphs.flatMap(([name, subgraph]) =>
        subgraph.database
          ? [snapshotDatabase(subgraph.database.url).then((tables) => [name, tables] as const)]
          : [],
      ),
    ),
  );
  const client = subgraphs.find(([, subgraph]) => subgraph.redis)?.[1].redis?.redis;
  if (!client) throw new Error('no subgraph uses Redis');
  const ignored = options.ignoreRedisKeys;
  const redis = Object.fromEntries(
    Object.entries(await snapshotRedis(client)).filter(([key]) => !ignored?.test(key)),
  );
  return { databases, redis };
}

/**
 * Waits until two snapshots a moment apart agree (the events, relays and jobs of what came before have
 * finished) and returns that snapshot.
 */
export async function settledSnapshot(
  supergraph: TestSupergraph,
  options: { ignoreRedisKeys?: RegExp; timeoutMs?: number; intervalMs?: number } = {},
): Promise<SupergraphSnapshot> {
  const { timeoutMs = 30_000, intervalMs = 500, ...snapshotOptions } = options;
  let last = JSON.stringify(await snapshotSupergraph(supergraph, snapshotOptions));
  return waitFor(
    'the supergraph to settle',
    async () => {
      const now = JSON.stringify(await snapshotSupergraph(supergraph, snapshotOptions));
      const same = now === last;
      last = now;
      return same && (JSON.parse(now) as SupergraphSnapshot);
    },
    { timeoutMs, intervalMs },
  );
}
