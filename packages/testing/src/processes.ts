import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { listDeadLetters, replayDeadLetters } from '@shop/events';
import { KafkaBroker, loadSubgraphs, projectRoot } from '@shop/infra';
import { type AnySubgraph, type LocalServices, seedSubgraph, subgraphMigrations } from '@shop/runtime';
import { Redis } from 'ioredis';
import { createTestDatabase, type TestDatabase } from './database';
import { createTestKafka, type TestKafka } from './kafka';
import { testLogger } from './logger';
import { freePort } from './ports';
import { createTestKeys, type TestKeys } from './subgraph';
import { waitFor } from './wait';

// Every subgraph as production runs it, for fault drills: each its own OS process (killed with SIGKILL and
// started again on the same port), over an Apache Kafka broker and a Redis of their own (Redis with an
// append-only file, so a restart is a restart and not a wipe) and fresh databases. Nothing is shared with other
// tests, so stopping any part disturbs only the drill.

const tsxLoader = pathToFileURL(createRequire(join(projectRoot, 'package.json')).resolve('tsx')).href;

export interface SubgraphProcess {
  name: string;
  url: string;
  /** Its Prometheus `/metrics` (METRICS_PORT, a port of its own: never the contract's fixed default). */
  metricsUrl: string;
  env: Record<string, string>;
  database: TestDatabase | undefined;
  pid: () => number | undefined;
  /** SIGKILL: no shutdown hook runs, in-flight work is cut wherever it is. */
  kill: () => Promise<void>;
  /** Starts it again with the same settings and port; resolves once /health/ready answers 200. */
  start: () => Promise<void>;
}

async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(new URL('/health/ready', url))).ok;
  } catch {
    return false;
  }
}

/** SIGKILL, as a crash, and wait until the process is gone (nothing to do when it already is). */
async function killHard(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

export interface OwnRedis {
  url: string;
  /** SIGKILL, as a crash; what was written before survives in the append-only file. */
  stop: () => Promise<void>;
  start: () => Promise<void>;
}

/** A redis-server of the drill's own, persisting every write to an append-only file in `dir`. */
export async function startOwnRedis(dir: string, port: number): Promise<OwnRedis> {
  let child: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;
  const start = async () => {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--dir',
        dir,
      ],
      { stdio: 'ignore' },
    );
    await waitFor('the drill Redis', async () => {
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => {}); // refused while it starts: the probe's answer, not an error to report
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } catch {
        return false;
      } finally {
        probe.disconnect();
      }
    });
  };
  const stop = async () => {
    await killHard(child);
    child = undefined;
  };
  await start();
  return { url, start, stop };
}

function subgraphProcess(
  definition: AnySubgraph,
  url: string,
  env: Record<string, string>,
  database: TestDatabase | undefined,
): SubgraphProcess {
  let child: ChildProcess | undefined;
  let output: string[] = [];
  const cwd = join(projectRoot, 'subgraphs', definition.name);
  return {
    name: definition.name,
    url,
    metricsUrl: `http://127.0.0.1:${env.METRICS_PORT}/metrics`,
    env,
    database,
    pid: () => child?.pid,
    kill: async () => {
      await killHard(child);
      child = undefined;
    },
    start: async () => {
      output = [];
      const started = spawn(process.execPath, ['--import', tsxLoader, 'src/index.ts'], {
        cwd,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = started;
      const keep = (chunk: Buffer) => {
        output.push(chunk.toString());
        if (output.length > 40) output.shift();
      };
      started.stdout?.on('data', keep);
      started.stderr?.on('data', keep);
      try {
        await waitFor(
          `${definition.name} ready`,
          async () => {
            if (started.exitCode !== null) throw new Error(`exited ${started.exitCode}`);
            return ready(url);
          },
          { timeoutMs: 90_000, intervalMs: 200 },
        );
      } catch (error) {
        throw new Error(
          `${definition.name} did not start: ${String(error)}\n${output.join('').slice(-3000)}`,
        );
      }
    },
  };
}

export interface SubgraphProcesses {
  subgraphs: Record<string, SubgraphProcess>;
  /** The second instance of each subgraph (same database, topics, Redis and settings), with `instances: 2`. */
  replicas: Record<string, SubgraphProcess>;
  keys: TestKeys;
  kafka: TestKafka;
  broker: KafkaBroker;
  redis: OwnRedis;
  /**
   * What an operator does after an outage (`pnpm events:dlq replay <group>`): republishes the dead letters of
   * `groups` (unprefixed) not replayed before. Returns how many were replayed and how many are still waiting.
   */
  replayDeadLetters: (groups: readonly string[]) => Promise<{ replayed: number; waiting: number }>;
  stop: () => Promise<void>;
}

export interface SubgraphProcessesOptions {
  /** 2 runs a second process of every subgraph, as a scaled-out deployment (each with its own port). */
  instances?: 1 | 2;
  /** Settings by subgraph name on top of the drill's (shorter intervals, say). */
  env?: Record<string, Record<string, string>>;
}

export async function startSubgraphProcesses(
  options: SubgraphProcessesOptions = {},
): Promise<SubgraphProcesses> {
  const subgraphs: Record<string, SubgraphProcess> = {};
  const replicas: Record<string, SubgraphProcess> = {};
  // A free port is only free until someone binds it: never hand out one twice (two freePort calls in a row
  // can return the same port).
  const taken = new Set<number>();
  const ownPort = async (): Promise<number> => {
    for (;;) {
      const port = await freePort();
      if (taken.has(port)) continue;
      taken.add(port);
      return port;
    }
  };
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    // Processes first: a database cannot be dropped while they hold connections to it.
    await Promise.all([...Object.values(subgraphs), ...Object.values(replicas)].map((s) => s.kill()));
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    const dir = mkdtempSync(join(tmpdir(), 'shop-drill-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const broker = new KafkaBroker({
      dir: join(dir, 'kafka'),
      port: await ownPort(),
      controllerPort: await ownPort(),
      heapMb: 384,
    });
    await broker.start();
    cleanups.push(() => broker.stop());
    const redis = await startOwnRedis(dir, await ownPort());
    cleanups.push(() => redis.stop());
    const keys = await createTestKeys();
    const kafka = await createTestKafka({ brokers: [broker.bootstrap] });
    cleanups.push(() => kafka.cleanup());
    const locals: LocalServices[] = [];
    cleanups.push(() => Promise.all(locals.map((l) => l.stop())));
    // Every subgraph's port, database and local services first; then all of them seed and start at once (a
    // subgraph that needs another while seeding, inventory asking products for the catalogue, waits for it).
    const prepared: {
      definition: AnySubgraph;
      url: string;
      env: Record<string, string>;
      local?: LocalServices;
    }[] = [];
    const urls: Record<string, string> = {};
    for (const definition of await loadSubgraphs()) {
      const logger = testLogger(`drill-${definition.name}`);
      const port = await ownPort();
      const url = `http://127.0.0.1:${port}/graphql`;
      urls[`${definition.name.toUpperCase()}_URL`] = url;
      const uses = new Set(definition.env.uses);
      const env: Record<string, string> = {
        NODE_ENV: 'test',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
        JWT_PUBLIC_KEY: keys.publicKeyPem,
        JWT_PRIVATE_KEY: keys.privateKeyPem,
        SHUTDOWN_TIMEOUT_MS: '5000',
        HOST: '127.0.0.1',
        PORT: String(port),
        METRICS_PORT: String(await ownPort()),
      };
      let database: TestDatabase | undefined;
      if (uses.has('postgres')) {
        const created = await createTestDatabase(subgraphMigrations(definition));
        cleanups.push(() => created.drop());
        database = created;
        env.DATABASE_URL = created.url;
      }
      if (uses.has('kafka')) {
        env.KAFKA_BROKERS = broker.bootstrap;
        env.KAFKA_TOPIC_PREFIX = kafka.prefix;
      }
      if (uses.has('redis')) {
        env.REDIS_URL = redis.url;
        env.REDIS_KEY_PREFIX = 'drill:';
      }
      const local = await definition.localServices?.({ env, logger });
      if (local) {
        locals.push(local);
        Object.assign(env, local.env);
      }
      subgraphs[definition.name] = subgraphProcess(definition, url, env, database);
      prepared.push({ definition, url, env, ...(local ? { local } : {}) });
    }
    const starts = await Promise.allSettled(
      prepared.map(async ({ definition, url, env, local }) => {
        // Every other subgraph's URL, then the drill's own settings for this one.
        Object.assign(env, { ...urls, ...env, ...options.env?.[definition.name] });
        const started = subgraphs[definition.name] as SubgraphProcess;
        await seedSubgraph(definition, { env, logger: testLogger(`drill-${definition.name}`) });
        await started.start();
        await local?.afterLaunch?.(url);
        if (options.instances === 2) {
          const replicaUrl = `http://127.0.0.1:${await ownPort()}/graphql`;
          const replicaEnv = {
            ...env,
            PORT: new URL(replicaUrl).port,
            METRICS_PORT: String(await ownPort()),
          };
          const replica = subgraphProcess(definition, replicaUrl, replicaEnv, started.database);
          replicas[definition.name] = replica;
          await replica.start();
        }
      }),
    );
    const failed = starts.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const replayAll = async (groups: readonly string[]) => {
      let replayed = 0;
      let waiting = 0;
      for (const group of groups) {
        replayed += (await replayDeadLetters(kafka.connection, group)).replayed;
        waiting += (await listDeadLetters(kafka.connection, group)).filter((l) => !l.replayed).length;
      }
      return { replayed, waiting };
    };
    return { subgraphs, replicas, keys, kafka, broker, redis, replayDeadLetters: replayAll, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
