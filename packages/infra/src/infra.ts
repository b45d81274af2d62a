import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { redactUrl } from '@shop/db';
import { KafkaBroker, kafkaAnswers } from './kafka-broker';
import { infraDir } from './paths';
import { ensureDatabases, postgresAnswers, startMachinePostgres, stopMachinePostgres } from './postgres';
import { isOurRedis, redisAnswers, startRedis, stopRedis } from './redis';
import { subgraphDatabases } from './registry';
import { type InfraSettings, readInfraSettings } from './settings';
import { readState, writeState } from './state';
import { ensureTopics } from './topics';

export type Progress = (message: string) => void;

export interface InfraOptions {
  settings?: InfraSettings;
  /** Where started services keep data, logs, pids and the state file (default: the project's .infra). */
  dir?: string;
  progress?: Progress;
}

/** The broker infra:up starts when none answers: on the port KAFKA_BROKERS names, controller one above. */
function ownKafkaBroker(dir: string, settings: InfraSettings): KafkaBroker {
  const port = Number(settings.kafkaBrokers[0]?.split(':')[1] ?? 9092);
  return new KafkaBroker({ dir: join(dir, 'kafka'), port, controllerPort: port + 1 });
}

/**
 * Brings Postgres, Redis and Kafka up: uses what env configures or what already listens, otherwise starts
 * it locally without Docker. Idempotent: a second call finds everything answering and starts nothing.
 */
export async function infraUp({
  settings = readInfraSettings(),
  dir = infraDir,
  progress = () => {},
}: InfraOptions = {}): Promise<{ started: string[] }> {
  mkdirSync(dir, { recursive: true });
  const state = readState(dir);
  const started: string[] = [];

  if (await postgresAnswers(settings.postgresUrl)) {
    progress(`postgres: answering at ${redactUrl(settings.postgresUrl)}`);
  } else if (settings.postgresConfigured) {
    throw new Error(`POSTGRES_URL is set but ${redactUrl(settings.postgresUrl)} does not answer`);
  } else {
    progress('postgres: not answering, starting the machine cluster');
    state.postgres = await startMachinePostgres(settings.postgresUrl);
    writeState(dir, state);
    started.push('postgres');
  }
  const databases = await subgraphDatabases();
  const created = await ensureDatabases(settings.postgresUrl, databases);
  progress(
    `postgres: databases ${databases.join(', ')}${created.length ? ` (created ${created.join(', ')})` : ''}`,
  );

  if (await redisAnswers(settings.redisUrl)) {
    progress(`redis: answering at ${settings.redisUrl}`);
  } else if (settings.redisConfigured) {
    throw new Error(`REDIS_URL is set but ${settings.redisUrl} does not answer`);
  } else {
    progress('redis: not answering, starting redis-server');
    const redisDir = join(dir, 'redis');
    mkdirSync(redisDir, { recursive: true });
    state.redis = { pid: await startRedis(settings.redisUrl, redisDir) };
    writeState(dir, state);
    started.push('redis');
  }

  if (await kafkaAnswers(settings.kafkaBrokers)) {
    progress(`kafka: answering at ${settings.kafkaBrokers.join(',')}`);
  } else if (settings.kafkaConfigured) {
    throw new Error(`KAFKA_BROKERS is set but ${settings.kafkaBrokers.join(',')} does not answer`);
  } else {
    const broker = ownKafkaBroker(dir, settings);
    state.kafka = { pid: await broker.start({ onProgress: (m) => progress(`kafka: ${m}`) }) };
    writeState(dir, state);
    started.push('kafka');
    progress(`kafka: ready at ${broker.bootstrap} (log: ${broker.logFile})`);
  }
  const topics = await ensureTopics(settings.kafkaBrokers);
  progress(`kafka: topics ready${topics.length ? ` (created ${topics.length})` : ''}`);
  return { started };
}

/** Stops only what infraUp started (by pid or by the cluster it started), newest first. */
export async function infraDown({
  settings = readInfraSettings(),
  dir = infraDir,
  progress = () => {},
}: InfraOptions = {}): Promise<{ stopped: string[] }> {
  const state = readState(dir);
  const stopped: string[] = [];
  if (state.kafka) {
    progress('kafka: stopping the broker infra:up started');
    await ownKafkaBroker(dir, settings).stop();
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
  writeState(dir, state);
  if (stopped.length === 0) progress('nothing to stop: infra:up started nothing that still runs');
  return { stopped };
}

export interface ServiceStatus {
  service: 'postgres' | 'redis' | 'kafka';
  answering: boolean;
  address: string;
  startedByUs: boolean;
}

export async function infraStatus({
  settings = readInfraSettings(),
  dir = infraDir,
}: InfraOptions = {}): Promise<ServiceStatus[]> {
  const state = readState(dir);
  return [
    {
      service: 'postgres',
      answering: await postgresAnswers(settings.postgresUrl),
      address: redactUrl(settings.postgresUrl),
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
      startedByUs: ownKafkaBroker(dir, settings).runningPid() !== undefined,
    },
  ];
}
