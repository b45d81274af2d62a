import type { createPrismaAdapter } from '@shop/db';
import type { EventConsumerOptions, FeedPart, KafkaConnection } from '@shop/events';
import type { Logger, ReadinessCheck, RequestContext, ServiceMetrics, TokenVerifier } from '@shop/kit';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { ConfigOf, SubgraphEnv, Uses } from './env';
import type { HttpRoute } from './routes';

export type PrismaAdapterFactory = ReturnType<typeof createPrismaAdapter>;

/** The subgraph's Postgres database: give `adapter` to its generated PrismaClient. */
export interface PostgresDeps {
  url: string;
  adapter: PrismaAdapterFactory;
  /** A small pool for what is not Prisma's: advisory locks of periodic jobs, readiness. */
  pool: pg.Pool;
}

export interface KafkaDeps {
  connection: KafkaConnection;
  /** Pass to the outbox transaction: events then leave as soon as the transaction commits. */
  outbox: { source: string; onCommitted: () => void };
}

export interface RedisDeps {
  /** Every key carries REDIS_KEY_PREFIX. */
  client: Redis;
}

/** What `build` and `seed` receive: the parsed config, logging, and a client for each model in `uses`. */
export type SubgraphDeps<U extends Uses, C> = {
  name: string;
  config: C;
  logger: Logger;
} & ('postgres' extends U ? { postgres: PostgresDeps } : unknown) &
  ('kafka' extends U ? { kafka: KafkaDeps } : unknown) &
  ('redis' extends U ? { redis: RedisDeps } : unknown);

export type BuildDeps<U extends Uses, C> = SubgraphDeps<U, C> & {
  tokenVerifier: TokenVerifier;
  /** The subgraph's metrics (its own series: `metrics.inventory()`, `metrics.notifications()`). */
  metrics: ServiceMetrics;
};

/** Something that runs beside the server (a periodic job): started after it listens. */
export interface BackgroundService {
  readonly name: string;
  start(): unknown;
  stop(): Promise<unknown>;
  readiness?: ReadinessCheck;
}

/** What a subgraph is made of, from its dependencies; the launcher serves and runs it. */
export interface SubgraphParts<TContext extends RequestContext> {
  /** Typed where it is written, with the subgraph's generated resolver types. */
  resolvers: object;
  /** Adds per-request things (DataLoaders, services) to the verified base context. */
  createContext?: (base: RequestContext) => TContext | Promise<TContext>;
  /** Kafka consumer groups (src/events/consume.ts): each retries, dead-letters, and reports readiness. */
  consumers?: EventConsumerOptions[];
  /** Broadcast feeds its Subscription resolvers read (every instance reads every message). */
  feeds?: FeedPart[];
  /** Periodic jobs and the like: started after the server listens, stopped before resources close. */
  background?: BackgroundService[];
  /** HTTP routes besides /graphql (a webhook), with coded JSON errors. */
  routes?: HttpRoute[];
  /** Readiness checks beyond those the launcher adds for the models used (postgres, redis, consumers). */
  readiness?: Record<string, ReadinessCheck>;
  /** Closed after everything else stopped (a Prisma client). */
  resources?: { name: string; close: () => Promise<unknown> }[];
}

// biome-ignore lint/suspicious/noExplicitAny: any subgraph's env, whatever models and own keys it has.
export type AnySubgraphEnv = SubgraphEnv<any, any>;

/** The models a subgraph's env opted into. */
export type UsesOf<E> = E extends SubgraphEnv<infer U, infer _O> ? U : never;

/** Stand-ins for outside services a subgraph talks to (a Stripe-compatible server, an SMTP sink). */
export interface LocalServices {
  /** Settings that point the subgraph at them (merged over its env). */
  env: Record<string, string>;
  /** Lines `pnpm start` prints (a web mailbox's address, say). */
  describe?: string[];
  /** Called once the subgraph listens, with its /graphql URL (a local server that sends it webhooks). */
  afterLaunch?: (subgraphUrl: string) => void | Promise<void>;
  stop: () => Promise<void>;
}

export interface SubgraphDefinition<
  E extends AnySubgraphEnv = AnySubgraphEnv,
  TContext extends RequestContext = RequestContext,
> {
  /** As in composition, the registry and logs. */
  name: string;
  env: E;
  /** The subgraph's own SDL (the shared types of packages/kit/schema are added to it). */
  schemaPath: string;
  /** Its committed Prisma migrations, when it uses postgres (the events tables are added to them). */
  migrationsDir?: string;
  build: (deps: BuildDeps<UsesOf<E>, ConfigOf<E>>) => Promise<SubgraphParts<TContext>>;
  /** Idempotent demo data; returns one line saying what it seeded. */
  seed?: (deps: SubgraphDeps<UsesOf<E>, ConfigOf<E>>) => Promise<string>;
  /**
   * Starts local stand-ins for outside services when `env` names no real one (development and tests), or
   * returns undefined. `pnpm start` and the testkit call it before launching the subgraph.
   */
  localServices?: (context: {
    env: Record<string, string | undefined>;
    logger: Logger;
  }) => Promise<LocalServices | undefined>;
}

/** A subgraph, defined once in its `src/subgraph.ts` and listed in subgraphs/registry.ts. */
export function defineSubgraph<E extends AnySubgraphEnv, TContext extends RequestContext>(
  definition: SubgraphDefinition<E, TContext>,
): SubgraphDefinition<E, TContext> {
  if (definition.env.uses.includes('postgres') && !definition.migrationsDir) {
    throw new Error(`subgraph ${definition.name} uses postgres but names no migrationsDir`);
  }
  return definition;
}

/** Any subgraph, as the launcher, the registry and the test harness see it. */
// biome-ignore lint/suspicious/noExplicitAny: a registry holds subgraphs of every context type.
export type AnySubgraph = SubgraphDefinition<AnySubgraphEnv, any>;
