import { randomUUID } from 'node:crypto';
import { readInfraSettings } from '@shop/infra';
import { type Role, TokenIssuer, TokenVerifier, type Viewer } from '@shop/kit';
import {
  type AnySubgraph,
  type LaunchedSubgraph,
  launchSubgraph,
  seedSubgraph,
  subgraphMigrations,
} from '@shop/runtime';
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { afterAll, beforeAll } from 'vitest';
import { createTestDatabase, type TestDatabase } from './database';
import { createTestKafka, type TestKafka } from './kafka';
import { testLogger } from './logger';
import { createTestRedis, type TestRedis } from './redis';
import { recordingAdapter } from './sql';

export const testTokenSettings = { issuer: 'shop-supergraph/users', audience: 'shop-supergraph' };

export interface TestKeys {
  publicKeyPem: string;
  privateKeyPem: string;
  issuer: TokenIssuer;
  verifier: TokenVerifier;
  /** A signed access token for a made-up user of that role (or the given viewer). */
  tokenFor: (who: Role | Viewer, ttlSeconds?: number) => Promise<string>;
}

/** A fresh EdDSA key pair, as the users subgraph (private) and every verifier (public) would hold. */
export async function createTestKeys(): Promise<TestKeys> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { extractable: true });
  const publicKeyPem = await exportSPKI(publicKey);
  const privateKeyPem = await exportPKCS8(privateKey);
  const issuerFor = (accessTokenTtlSeconds: number) =>
    TokenIssuer.fromPem(privateKeyPem, { ...testTokenSettings, accessTokenTtlSeconds });
  const issuer = await issuerFor(900);
  const verifier = await TokenVerifier.fromPem(publicKeyPem, testTokenSettings);
  return {
    publicKeyPem,
    privateKeyPem,
    issuer,
    verifier,
    tokenFor: async (who, ttlSeconds) =>
      (ttlSeconds === undefined ? issuer : await issuerFor(ttlSeconds)).issueAccessToken(
        typeof who === 'string'
          ? { userId: randomUUID(), role: who, email: `${who.toLowerCase()}-${randomUUID()}@example.com` }
          : who,
      ),
  };
}

export interface GraphQLResponse<D = Record<string, unknown>> {
  status: number;
  data?: D | null;
  errors?: {
    message: string;
    path?: (string | number)[];
    extensions?: { code?: string } & Record<string, unknown>;
  }[];
}

/** POSTs one GraphQL operation; `token` goes in the Authorization header. */
export async function postGraphQL<D = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<GraphQLResponse<D>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...((await response.json()) as Omit<GraphQLResponse<D>, 'status'>) };
}

/** postGraphQL for a request that must succeed: its data, or an error naming the response's errors. */
export async function graphqlData<D = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<D> {
  const result = await postGraphQL<D>(url, query, variables, token);
  if (!result.data || result.errors) throw new Error(JSON.stringify(result.errors ?? result));
  return result.data;
}

/** The error codes of a response, in order. */
export function codes(response: {
  errors?: readonly { extensions?: Record<string, unknown> }[] | undefined;
}) {
  return (response.errors ?? []).map((error) => error.extensions?.code);
}

/** What a test holds of a running subgraph. */
export interface TestSubgraph extends LaunchedSubgraph {
  /** What was launched (to start another instance of it: `startTestReplica`). */
  definition: AnySubgraph;
  keys: TestKeys;
  /** Its own migrated database (subgraphs that use postgres). */
  database: TestDatabase | undefined;
  /** Its Kafka topic prefix (subgraphs that use kafka): read what it published with `kafka.readTopic`. */
  kafka: TestKafka | undefined;
  /** Its Redis key prefix (subgraphs that use redis). */
  redis: TestRedis | undefined;
  /** Every SQL statement its Prisma adapter sent, in order: clear it before the part you measure. */
  sql: string[];
  /** The env it was launched with. */
  env: Record<string, string>;
  /** One GraphQL request to the subgraph, with `token` as the bearer token. */
  graphql: <D = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ) => Promise<GraphQLResponse<D>>;
}

export interface TestSubgraphOptions {
  /** Shared by every subgraph of a test supergraph; fresh ones are made otherwise. */
  keys?: TestKeys;
  kafka?: TestKafka;
  redis?: TestRedis;
  /** Settings on top of the test ones (own keys of the subgraph, shorter intervals, ...). */
  env?: Record<string, string>;
  /** Run the subgraph's demo seed before it starts. */
  seed?: boolean;
}

/**
 * The real subgraph on a free port, launched by the same launcher as production (`launchSubgraph`: its
 * consumers, relay and jobs included), over test infrastructure of its own: a fresh migrated database,
 * Kafka topics and Redis keys under a prefix no other test uses, a test key pair.
 */
export async function startTestSubgraph(
  definition: AnySubgraph,
  options: TestSubgraphOptions = {},
): Promise<TestSubgraph> {
  const uses = new Set(definition.env.uses);
  const keys = options.keys ?? (await createTestKeys());
  const cleanups: (() => Promise<unknown>)[] = [];
  const settings = readInfraSettings();
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    JWT_PUBLIC_KEY: keys.publicKeyPem,
    JWT_PRIVATE_KEY: keys.privateKeyPem,
    SHUTDOWN_TIMEOUT_MS: '5000',
    // Any free port: test files run side by side, each with every subgraph (the fixed defaults would clash).
    METRICS_PORT: '0',
  };
  let database: TestDatabase | undefined;
  let kafka: TestKafka | undefined;
  let redis: TestRedis | undefined;
  if (uses.has('postgres')) {
    database = await createTestDatabase(subgraphMigrations(definition));
    cleanups.push(() => database?.drop() ?? Promise.resolve());
    env.DATABASE_URL = database.url;
  }
  if (uses.has('kafka')) {
    const testKafka = options.kafka ?? (await createTestKafka());
    if (!options.kafka) cleanups.push(() => testKafka.cleanup());
    env.KAFKA_BROKERS = testKafka.brokers.join(',');
    env.KAFKA_TOPIC_PREFIX = testKafka.prefix;
    kafka = testKafka;
  }
  if (uses.has('redis')) {
    const testRedis = options.redis ?? (await createTestRedis());
    if (!options.redis) cleanups.push(() => testRedis.cleanup());
    env.REDIS_URL = settings.redisUrl;
    env.REDIS_KEY_PREFIX = testRedis.prefix;
    redis = testRedis;
  }
  Object.assign(env, options.env);
  const sql: string[] = [];
  const logger = testLogger(definition.name);
  try {
    const local = await definition.localServices?.({ env, logger });
    if (local) {
      cleanups.push(() => local.stop());
      Object.assign(env, local.env);
    }
    if (options.seed) await seedSubgraph(definition, { env, logger });
    const running = await launchSubgraph(definition, {
      env,
      port: 0,
      host: '127.0.0.1',
      logger,
      wrapAdapter: (adapter) => recordingAdapter(adapter, (statement) => sql.push(statement)),
    });
    await local?.afterLaunch?.(running.url);
    return {
      ...running,
      definition,
      keys,
      database,
      kafka,
      redis,
      sql,
      env,
      graphql: (query, variables = {}, token) => postGraphQL(running.url, query, variables, token),
      stop: async () => {
        await running.stop();
        for (const cleanup of cleanups.reverse()) await cleanup();
      },
    };
  } catch (error) {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    throw error;
  }
}

/**
 * A subgraph for a whole test file: started in beforeAll, stopped in afterAll. Read its properties inside
 * tests (reading them earlier throws, saying so).
 */
export function useSubgraph<T extends object = TestSubgraph>(
  definition: AnySubgraph,
  options: TestSubgraphOptions & { extend?: (subgraph: TestSubgraph) => T | Promise<T> } = {},
): TestSubgraph & T {
  let started: (TestSubgraph & T) | undefined;
  let extraStop: (() => Promise<unknown>) | undefined;
  beforeAll(async () => {
    const subgraph = await startTestSubgraph(definition, options);
    const extra = options.extend ? await options.extend(subgraph) : ({} as T);
    extraStop = (extra as { stop?: () => Promise<unknown> }).stop;
    started = Object.assign(subgraph, extra, { stop: subgraph.stop }) as TestSubgraph & T;
  });
  afterAll(async () => {
    await extraStop?.();
    await started?.stop();
  });
  return new Proxy({} as TestSubgraph & T, {
    get: (_, property) => {
      if (!started)
        throw new Error(`useSubgraph(${definition.name}): it starts in beforeAll; use it inside tests`);
      return Reflect.get(started, property);
    },
  });
}

/**
 * One more instance of a running test subgraph, as a scaled-out deployment runs it: the same database, Kafka
 * prefix, Redis prefix, keys, local stand-ins and settings, its own port, consumers, relay and jobs. Stopping it
 * leaves the shared infrastructure to the original.
 */
export async function startTestReplica(
  original: TestSubgraph,
  options: { env?: Record<string, string> } = {},
): Promise<TestSubgraph> {
  const env = { ...original.env, ...options.env };
  const sql: string[] = [];
  const running = await launchSubgraph(original.definition, {
    env,
    port: 0,
    host: '127.0.0.1',
    logger: testLogger(`${original.definition.name}-replica`),
    wrapAdapter: (adapter) => recordingAdapter(adapter, (statement) => sql.push(statement)),
  });
  return {
    ...original,
    ...running,
    sql,
    env,
    graphql: (query, variables = {}, token) => postGraphQL(running.url, query, variables, token),
    stop: () => running.stop(),
  };
}
