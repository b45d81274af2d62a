import { ShopClient } from '@shop/client';
import { loadSubgraphs } from '@shop/infra';
import {
  createTestKafka,
  createTestKeys,
  createTestRedis,
  startTestSubgraph,
  type TestKeys,
  type TestSubgraph,
  testLogger,
} from '@shop/testing';
import { composeSupergraph } from '../src/compose';
import { type RunningGateway, startGateway } from '../src/gateway';

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
  stop: () => Promise<void>;
}

/**
 * The real supergraph in-process: every registered subgraph launched as in production over its own fresh
 * database, all sharing one key pair, one Kafka topic prefix and one Redis key prefix (so events flow between
 * them), seeded with the demo data, composed with their test URLs behind the real gateway.
 */
export async function startTestSupergraph(): Promise<TestSupergraph> {
  const keys = await createTestKeys();
  const [kafka, redis] = await Promise.all([createTestKafka(), createTestRedis()]);
  const subgraphs: Record<string, TestSubgraph> = {};
  const stopSubgraphs = async () => {
    await Promise.all(Object.values(subgraphs).map((subgraph) => subgraph.stop()));
    await Promise.all([kafka.cleanup(), redis.cleanup()]);
  };
  try {
    // In registry order: a seed may rely on an earlier subgraph's (inventory on products' SKUs).
    for (const definition of await loadSubgraphs()) {
      subgraphs[definition.name] = await startTestSubgraph(definition, { keys, kafka, redis, seed: true });
    }
    const { supergraphSdl } = await composeSupergraph(
      Object.fromEntries(Object.entries(subgraphs).map(([name, subgraph]) => [name, subgraph.url])),
    );
    const gateway = await startGateway({
      supergraphSdl,
      port: 0,
      host: '127.0.0.1',
      tokenVerifier: keys.verifier,
      logger: testLogger('gateway'),
    });
    return {
      gateway,
      subgraphs,
      client: new ShopClient(gateway.url),
      keys,
      stop: async () => {
        await gateway.stop();
        await stopSubgraphs();
      },
    };
  } catch (error) {
    await stopSubgraphs();
    throw error;
  }
}
