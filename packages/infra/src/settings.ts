export interface InfraSettings {
  /** Any database URL on the Postgres server; its database part is replaced per subgraph. */
  postgresUrl: string;
  redisUrl: string;
  kafkaBrokers: string[];
  /** True when the user pointed us at their own broker (we then never start one). */
  kafkaConfigured: boolean;
  redisConfigured: boolean;
  postgresConfigured: boolean;
}

export function readInfraSettings(env: NodeJS.ProcessEnv = process.env): InfraSettings {
  return {
    postgresUrl: env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    kafkaBrokers: (env.KAFKA_BROKERS ?? 'localhost:9092').split(',').map((b) => b.trim()),
    kafkaConfigured: env.KAFKA_BROKERS !== undefined,
    redisConfigured: env.REDIS_URL !== undefined,
    postgresConfigured: env.POSTGRES_URL !== undefined,
  };
}
