import { readFileSync } from 'node:fs';
import {
  createLogger,
  loadConfigOrExit,
  metricsListenOf,
  queryLimitsOf,
  Shutdown,
  startTracing,
  TokenVerifier,
} from '@shop/kit';
import { createRedisClient } from '@shop/runtime';
import { gatewayEnvSchema } from './config';
import { startGateway } from './gateway';

const config = loadConfigOrExit(gatewayEnvSchema);
const logger = createLogger('gateway', config.LOG_LEVEL);
const shutdown = new Shutdown(logger, config.SHUTDOWN_TIMEOUT_MS);
shutdown.installSignalHandlers();
// OTEL_* settings (off without an endpoint); registered first, so it runs last and flushes every span.
const tracing = startTracing('gateway');
shutdown.register('tracing', tracing.shutdown);

// The per-client limit's counters live in Redis, so the limit holds across gateway instances.
const redis =
  config.CLIENT_RATE_LIMIT > 0
    ? createRedisClient(config.REDIS_URL, config.REDIS_KEY_PREFIX, logger)
    : undefined;
if (redis) {
  await redis.connect();
  shutdown.register('redis', () => redis.quit());
}

const gateway = await startGateway({
  supergraphSdl: readFileSync(config.SUPERGRAPH_PATH, 'utf8'),
  port: config.PORT,
  host: config.HOST,
  subgraphUrls: config.SUBGRAPH_URLS,
  subgraphTimeoutMs: config.SUBGRAPH_TIMEOUT_MS,
  maxQueryDepth: config.MAX_QUERY_DEPTH,
  maxIntrospectionDepth: config.MAX_INTROSPECTION_DEPTH,
  corsOrigins: config.CORS_ORIGINS,
  queryLimits: queryLimitsOf(config),
  subscriptionLimits: {
    maxSubscriptions: config.SUBSCRIPTIONS_MAX,
    maxSubscriptionsPerUser: config.SUBSCRIPTIONS_MAX_PER_USER,
    maxQueue: config.SUBSCRIPTION_QUEUE_SIZE,
    keepAliveMs: config.WS_KEEPALIVE_MS,
    maxMessageBytes: config.WS_MAX_MESSAGE_BYTES,
  },
  tokenVerifier: await TokenVerifier.fromPem(config.JWT_PUBLIC_KEY, {
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
  }),
  gatewaySecret: config.GATEWAY_SECRET || undefined,
  trustedProxies: config.TRUSTED_PROXIES,
  clientRateLimit: redis && {
    redis,
    limit: config.CLIENT_RATE_LIMIT,
    windowSeconds: config.CLIENT_RATE_LIMIT_WINDOW_SECONDS,
  },
  metricsServer: metricsListenOf(config),
  logger,
});
shutdown.register('gateway', gateway.stop);

// SIGHUP reloads the supergraph file (after `pnpm compose`): open subscriptions end with SUPERGRAPH_RELOADED.
process.on('SIGHUP', () => {
  try {
    gateway.reloadSupergraph(readFileSync(config.SUPERGRAPH_PATH, 'utf8'));
    logger.info({ path: config.SUPERGRAPH_PATH }, 'supergraph reloaded');
  } catch (error) {
    logger.error({ err: error }, 'supergraph reload failed; the previous one stays');
  }
});
