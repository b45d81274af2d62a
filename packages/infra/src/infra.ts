import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { KafkaBroker, kafkaAnswers } from './kafka-broker';
import { infraDir } from './paths';
import { ensureDatabases, postgresAnswers, startMachinePostgres, stopMachinePostgres } from './postgres';
import { isOurRedis, redisAnswers, startRedis, stopRedis } from './redis';
import { type InfraSettings, readInfraSettings, subgraphDatabases } from './settings';
import { readState, writeState } from './state';
import { ensureTopics } from './topics';

export type Progress = (message: string) => void;

/** The development broker infra:up starts when KAFKA_BROKERS is not set. */
export const devKafkaBroker = () => new KafkaBroker({ dir: join(infraDir, 'kafka') });

/**
 * Brings Postgres, Redis and Kafka up: uses what env configures or what already listens, otherwise starts
 * it locally without Docker. Idempotent: a second call finds everything answering and starts nothing.
 */
export async function infraUp(
  settings: InfraSettings = readInfraSettings(),
  progress: Progress = () => {},
): Promise<{ started: string[] }> {
  mkdirSync(infraDir, { recursive: true });
  const state = readState();
  const started: string[] = [];

  if (await postgresAnswers(settings.postgresUrl)) {
    progress(`postgres: answering at ${redact(settings.postgresUrl)}`);
  } else if (settings.postgresConfigured) {
    throw new Error(`POSTGRES_URL is set but ${redact(settings.postgresUrl)} does not answer`);
  } else {
    progress('postgres: not answering, starting the machine cluster');
    state.postgres = await startMachinePostgres(settings.postgresUrl);
    writeState(state);
    started.push('postgres');
  }
  const created = await ensureDatabases(settings.postgresUrl, subgraphDatabases);
  progress(
    `postgres: databases ${subgraphDatabases.join(', ')}${created.length ? ` (created ${created.join(', ')})` : ''}`,
  );

  if (await redisAnswers(settings.redisUrl)) {
    progress(`redis: answering at ${settings.redisUrl}`);
  } else if (settings.redisConfigured) {
    throw new Error(`REDIS_URL is set but ${settings.redisUrl} does not answer`);
  } else {
    progress('redis: not answering, starting redis-server');
    const dir = join(infraDir, 'redis');
    mkdirSync(dir, { recursive: true });
    state.redis = { pid: await startRedis(settings.redisUrl, dir) };
    writeState(state);
    started.push('redis');
  }

  if (await kafkaAnswers(settings.kafkaBrokers)) {
    progress(`kafka: answering at ${settings.kafkaBrokers.join(',')}`);
  } else if (settings.kafkaConfigured) {
    throw new Error(`KAFKA_BROKERS is set but ${settings.kafkaBrokers.join(',')} does not answer`);
  } else {
    const broker = devKafkaBroker();
    state.kafka = { pid: await broker.start({ onProgress: (m) => progress(`kafka: ${m}`) }) };
    writeState(state);
    started.push('kafka');
    progress(`kafka: ready at ${broker.bootstrap} (log: ${broker.logFile})`);
  }
  const topics = await ensureTopics(settings.kafkaBrokers);
  progress(`kafka: topics ready${topics.length ? ` (created ${topics.length})` : ''}`);
  return { started };
}

/** Stops only what infraUp started (by pid or by the cluster it started), newest first. */
export async function infraDown(progress: Progress = () => {}): Promise<{ stopped: string[] }> {
  const state = readState();
  const stopped: string[] = [];
  if (state.kafka) {
    progress('kafka: stopping the broker infra:up started');
    await devKafkaBroker().stop();
    delete state.kafka;
    stopped.push('kafka');
  }
  if (state.redis) {
    if (isOurRedis(state.redis.pid)) {
      progress(`redis: stopping pid ${state.redis.pid}`);
      await stopRedis(state.redis.pid);
      stopped.push('redis');
    }
    delete state.redis;
  }
  if (state.postgres) {
    progress(`postgres: stopping cluster ${state.postgres.version}/${state.postgres.cluster}`);
    stopMachinePostgres(state.postgres.version, state.postgres.cluster);
    delete state.postgres;
    stopped.push('postgres');
  }
  writeState(state);
  if (stopped.length === 0) progress('nothing to stop: infra:up started nothing that still runs');
  return { stopped };
}

export interface ServiceStatus {
  service: 'postgres' | 'redis' | 'kafka';
  answering: boolean;
  address: string;
  startedByUs: boolean;
}

export async function infraStatus(settings: InfraSettings = readInfraSettings()): Promise<ServiceStatus[]> {
  const state = readState();
  return [
    {
      service: 'postgres',
      answering: await postgresAnswers(settings.postgresUrl),
      address: redact(settings.postgresUrl),
      startedByUs: state.postgres !== undefined,
    },
    {
      service: 'redis',
      answering: await redisAnswers(settings.redisUrl),
      address: settings.redisUrl,
      startedByUs: state.redis !== undefined && isOurRedis(state.redis.pid),
    },
    {
      service: 'kafka',
      answering: await kafkaAnswers(settings.kafkaBrokers),
      address: settings.kafkaBrokers.join(','),
      startedByUs: devKafkaBroker().runningPid() !== undefined,
    },
  ];
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
