import { loadSubgraphs } from '@shop/infra';
import { createTestKafka, type TestKafka } from './kafka';
import { createTestRedis, type TestRedis } from './redis';
import { createTestKeys, startTestSubgraph, type TestKeys, type TestSubgraph } from './subgraph';

export interface TestSubgraphs {
  /** By name, in registry order. */
  subgraphs: Record<string, TestSubgraph>;
  keys: TestKeys;
  kafka: TestKafka;
  redis: TestRedis;
  stop: () => Promise<void>;
}

/**
 * Several registered subgraphs working together (all of them when `only` is absent), each launched as in
 * production over its own database, sharing one key pair, one Kafka topic prefix and one Redis key prefix so
 * events flow between them. Started in registry order; each is told where the ones before it listen
 * (`<NAME>_URL`, e.g. PRODUCTS_URL), as `pnpm start` does.
 */
export async function startTestSubgraphs(
  options: { only?: readonly string[]; seed?: boolean; env?: Record<string, string> } = {},
): Promise<TestSubgraphs> {
  const keys = await createTestKeys();
  const [kafka, redis] = await Promise.all([createTestKafka(), createTestRedis()]);
  const subgraphs: Record<string, TestSubgraph> = {};
  const stop = async () => {
    await Promise.all(Object.values(subgraphs).map((subgraph) => subgraph.stop()));
    await Promise.all([kafka.cleanup(), redis.cleanup()]);
  };
  const env: Record<string, string> = { ...options.env };
  try {
    for (const definition of await loadSubgraphs()) {
      if (options.only && !options.only.includes(definition.name)) continue;
      const subgraph = await startTestSubgraph(definition, {
        keys,
        kafka,
        redis,
        env: { ...env },
        ...(options.seed ? { seed: true } : {}),
      });
      subgraphs[definition.name] = subgraph;
      env[`${definition.name.toUpperCase()}_URL`] = subgraph.url;
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { subgraphs, keys, kafka, redis, stop };
}
