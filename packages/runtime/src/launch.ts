import { createPrismaAdapter } from '@shop/db';
import { type EventParts, eventParts, KafkaConnection } from '@shop/events';
import {
  ConfigError,
  commonResolvers,
  createLogger,
  type Logger,
  loadSchema,
  metricsListenOf,
  parseConfig,
  queryLimitsOf,
  type ReadinessCheck,
  type RunningSubgraph,
  ServiceMetrics,
  Shutdown,
  startMetricsServer,
  startSubgraphServer,
  startTracing,
  TokenVerifier,
} from '@shop/kit';
import pg from 'pg';
import { deadlineAwareAdapter } from './deadline-adapter';
import type {
  AnySubgraph,
  BackgroundService,
  KafkaDeps,
  PostgresDeps,
  PrismaAdapterFactory,
  RedisDeps,
} from './definition';
import { createRedisClient, redisReadiness } from './redis';
import { mountRoutes } from './routes';

export interface LaunchOptions {
  /** Where settings come from (default: process.env); parsed with the subgraph's env schema. */
  env?: Record<string, string | undefined>;
  /** Overrides PORT and HOST (tests: port 0 on 127.0.0.1). */
  port?: number;
  host?: string;
  logger?: Logger;
  /** Wraps the Prisma driver adapter (tests record the SQL a subgraph sends). */
  wrapAdapter?: (factory: PrismaAdapterFactory) => PrismaAdapterFactory;
}

export interface LaunchedSubgraph extends RunningSubgraph {
  name: string;
  config: Record<string, unknown>;
  metrics: ServiceMetrics;
  /** Where Prometheus scrapes this subgraph (METRICS_PORT); undefined with METRICS_ENABLED=false. */
  metricsUrl: string | undefined;
}

type OpenedDeps = {
  deps: Record<string, unknown> & { name: string; config: Record<string, unknown>; logger: Logger };
  readiness: Record<string, ReadinessCheck>;
  /** Set once the parts are built: the relay that `kafka.outbox.onCommitted` wakes. */
  events: { parts?: EventParts };
};

/**
 * Opens a client for each model the subgraph uses and registers how to close it: a Prisma adapter and a small
 * pg pool (postgres), a Redis client with the key prefix (redis), a Kafka connection (kafka; closed by the
 * event parts, after the relay and consumers that use it).
 */
async function openDeps(
  definition: AnySubgraph,
  config: Record<string, unknown>,
  logger: Logger,
  shutdown: Shutdown,
  options: LaunchOptions,
): Promise<OpenedDeps> {
  const uses = new Set(definition.env.uses);
  const deps: OpenedDeps['deps'] = { name: definition.name, config, logger };
  const readiness: Record<string, ReadinessCheck> = {};
  const events: OpenedDeps['events'] = {};

  if (uses.has('postgres')) {
    const url = String(config.DATABASE_URL);
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    pool.on('error', (error) => logger.warn({ err: error }, 'postgres pool error'));
    shutdown.register('postgres pool', () => pool.end());
    const adapter = deadlineAwareAdapter(
      createPrismaAdapter(url, {
        statementTimeoutMs: Number(config.DATABASE_STATEMENT_TIMEOUT_MS),
        preparedStatements: config.DATABASE_PREPARED_STATEMENTS !== false,
      }),
    );
    deps.postgres = {
      url,
      pool,
      adapter: options.wrapAdapter ? options.wrapAdapter(adapter) : adapter,
    } satisfies PostgresDeps;
    readiness.postgres = () => pool.query('SELECT 1');
  }
  if (uses.has('redis')) {
    const client = createRedisClient(String(config.REDIS_URL), String(config.REDIS_KEY_PREFIX), logger);
    await client.connect();
    shutdown.register('redis', () => client.quit());
    deps.redis = { client } satisfies RedisDeps;
    readiness.redis = () => redisReadiness(client);
  }
  if (uses.has('kafka')) {
    const connection = new KafkaConnection({
      brokers: config.KAFKA_BROKERS as string[],
      clientId: definition.name,
      topicPrefix: String(config.KAFKA_TOPIC_PREFIX),
      logger,
    });
    deps.kafka = {
      connection,
      outbox: { source: definition.name, onCommitted: () => events.parts?.relay?.wake() },
    } satisfies KafkaDeps;
  }
  return { deps, readiness, events };
}

/** Parses the subgraph's env; every problem at once (ConfigError). */
export function subgraphConfig(
  definition: AnySubgraph,
  env: Record<string, string | undefined> = process.env,
): Record<string, unknown> {
  return parseConfig(definition.env.schema, env) as Record<string, unknown>;
}

/**
 * Builds and serves one subgraph: the one launcher of production (`runSubgraph`) and tests
 * (`startTestSubgraph`), background work included. Its clients and background work stop in reverse order
 * on `stop()`: no new requests, then consumers, feeds and jobs, then the subgraph's resources, then clients.
 */
export async function launchSubgraph(
  definition: AnySubgraph,
  options: LaunchOptions = {},
): Promise<LaunchedSubgraph> {
  const config = subgraphConfig(definition, options.env);
  const logger = options.logger ?? createLogger(definition.name, String(config.LOG_LEVEL));
  const shutdown = new Shutdown(logger, Number(config.SHUTDOWN_TIMEOUT_MS));
  try {
    const tokenVerifier = await TokenVerifier.fromPem(String(config.JWT_PUBLIC_KEY), {
      issuer: String(config.JWT_ISSUER),
      audience: String(config.JWT_AUDIENCE),
    });
    const { deps, readiness, events } = await openDeps(definition, config, logger, shutdown, options);
    const metrics = new ServiceMetrics(definition.name);
    const parts = await definition.build({ ...deps, tokenVerifier, metrics } as never);
    for (const resource of parts.resources ?? []) shutdown.register(resource.name, resource.close);

    const kafka = deps.kafka as KafkaDeps | undefined;
    if (!kafka && (parts.consumers?.length || parts.feeds?.length)) {
      throw new Error(`${definition.name} has consumers or feeds but does not use kafka`);
    }
    if (kafka) {
      events.parts = eventParts({
        connection: kafka.connection,
        logger,
        ...(deps.postgres ? { outbox: { databaseUrl: (deps.postgres as PostgresDeps).url } } : {}),
        consumers: parts.consumers ?? [],
        feeds: parts.feeds ?? [],
        metrics,
      });
      Object.assign(readiness, events.parts.readiness);
    }
    const background = [
      ...(events.parts?.background ?? []),
      ...(parts.background ?? []).map((service: BackgroundService) => {
        if (service.readiness) readiness[service.name] = service.readiness;
        return {
          name: service.name,
          start: async () => {
            await service.start();
            return () => service.stop();
          },
        };
      }),
    ];

    const server = await startSubgraphServer({
      name: definition.name,
      port: options.port ?? Number(config.PORT),
      host: options.host ?? String(config.HOST),
      typeDefs: loadSchema(definition.schemaPath),
      resolvers: { ...commonResolvers, ...parts.resolvers },
      queryLimits: queryLimitsOf(config as Parameters<typeof queryLimitsOf>[0]),
      requestDeadlineMs: Number(config.REQUEST_DEADLINE_MS),
      wsMaxMessageBytes: Number(config.WS_MAX_MESSAGE_BYTES),
      tokenVerifier,
      logger,
      corsOrigins: config.CORS_ORIGINS as string[],
      // Subgraphs that read the gateway's signed client address (users, products) have GATEWAY_SECRET.
      gatewaySecret:
        typeof config.GATEWAY_SECRET === 'string' ? config.GATEWAY_SECRET || undefined : undefined,
      readiness: { ...readiness, ...parts.readiness },
      metrics,
      ...(parts.createContext ? { createContext: parts.createContext } : {}),
      ...(parts.routes?.length ? { routes: (app) => mountRoutes(app, parts.routes ?? [], logger) } : {}),
    });
    // Stopped after the background parts, so the last scrapes still see them.
    const metricsListen = metricsListenOf(config as Parameters<typeof metricsListenOf>[0]);
    // A free port asked for the service (tests) means a free one for its metrics too, unless one was set.
    if (metricsListen && options.port === 0 && options.env?.METRICS_PORT === undefined)
      metricsListen.port = 0;
    const metricsServer = metricsListen && (await startMetricsServer(metrics, { ...metricsListen, logger }));
    if (metricsServer) shutdown.register('metrics server', metricsServer.stop);
    for (const part of background) shutdown.register(part.name, await part.start());
    // Registered last, so it runs first: no new requests while the rest shuts down.
    shutdown.register('graphql server', server.stop);
    return {
      ...server,
      name: definition.name,
      config,
      metrics,
      metricsUrl: metricsServer?.url,
      stop: () => shutdown.run('stop'),
    };
  } catch (error) {
    await shutdown.run('start failed');
    throw error;
  }
}

/**
 * The whole life of a subgraph process (`src/index.ts`): settings from env (every problem printed, then exit 1),
 * launch, and on SIGTERM/SIGINT a graceful stop.
 */
export async function runSubgraph(definition: AnySubgraph): Promise<LaunchedSubgraph> {
  let running: LaunchedSubgraph;
  // OTEL_* settings (off without an endpoint); flushed after everything else has stopped.
  const tracing = startTracing(definition.name);
  try {
    running = await launchSubgraph(definition);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`${definition.name}: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      void running
        .stop()
        .finally(() => tracing.shutdown())
        .finally(() => process.exit(0));
    });
  }
  return running;
}

/** Runs the subgraph's idempotent seed against the stores its env names; returns what it said. */
export async function seedSubgraph(
  definition: AnySubgraph,
  options: { env?: Record<string, string | undefined>; logger?: Logger } = {},
): Promise<string | undefined> {
  if (!definition.seed) return undefined;
  const config = subgraphConfig(definition, options.env);
  const logger = options.logger ?? createLogger(`${definition.name}:seed`, String(config.LOG_LEVEL));
  const shutdown = new Shutdown(logger, Number(config.SHUTDOWN_TIMEOUT_MS));
  try {
    const { deps } = await openDeps(definition, config, logger, shutdown, {});
    return await definition.seed(deps as never);
  } finally {
    await shutdown.run('seeded');
  }
}
