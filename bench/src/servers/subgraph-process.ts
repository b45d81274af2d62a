// Child process of `subgraph-processes.ts`: ONE subgraph (BENCH_SUBGRAPH), launched as the e2e tests launch
// them (own fresh database, demo seed), on the Kafka topic prefix and Redis key prefix its parent made for all
// of them (BENCH_KAFKA_PREFIX, BENCH_KAFKA_BROKERS, BENCH_REDIS_PREFIX), with the settings it was given
// (BENCH_ENV: JSON; the key pair and the other subgraphs' URLs). Prints one JSON line `{"ready": {...}}` on stdout, then runs until SIGTERM.
import { loadSubgraphs } from '@shop/infra';
import { startTestSubgraph, type TestKafka, type TestRedis } from '@shop/testing';
import { serveStatementCounts } from './statements';

const name = process.env.BENCH_SUBGRAPH ?? '';
const definition = (await loadSubgraphs()).find((subgraph) => subgraph.name === name);
if (!definition) throw new Error(`unknown subgraph ${name}`);
const env = JSON.parse(process.env.BENCH_ENV ?? '{}') as Record<string, string>;
// startTestSubgraph reads only the prefix and brokers of a shared Kafka and the prefix of a shared Redis; the
// parent owns both (it deletes the topics and keys at the end).
const kafka = {
  prefix: process.env.BENCH_KAFKA_PREFIX,
  brokers: process.env.BENCH_KAFKA_BROKERS?.split(','),
} as TestKafka;
const redis = { prefix: process.env.BENCH_REDIS_PREFIX } as TestRedis;
const subgraph = await startTestSubgraph(definition, { kafka, redis, env, seed: true });
const ready = {
  url: subgraph.url,
  database: subgraph.database?.url,
  statementsUrl: await serveStatementCounts({ [name]: subgraph }),
};
process.stdout.write(`${JSON.stringify({ ready })}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await subgraph.stop().catch((error: unknown) => console.error(error));
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
