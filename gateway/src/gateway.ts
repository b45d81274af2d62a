import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { BlockList } from 'node:net';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  applyKitScalars,
  clientAddressOf,
  createApp,
  currentRequestId,
  defaultQueryLimits,
  formatError,
  graphqlSpanPlugin,
  type HealthState,
  type Logger,
  listen,
  metricsPlugin,
  mountErrorHandlers,
  mountGraphQL,
  mountHealthRoutes,
  type QueryLimits,
  queryLimitsPlugin,
  requestGuardsPlugin,
  ServiceMetrics,
  startMetricsServer,
  type TokenVerifier,
} from '@shop/kit';
import { acceptSecurityFeatures, authorizationPlugin } from './authorization';
import { type ClientRateLimit, clientRateLimitPlugin } from './client-rate-limit';
import { depthLimitPlugin } from './depth-limit';
import { graphqlFastPath } from './http/graphql-fast-path';
import { KnownOperations } from './http/known-operations';
import { type CachedPlanExecutor, withCachedPlans } from './query-plan-executor';
import {
  defaultSubscriptionLimits,
  type SubscriptionLimits,
  type SubscriptionServer,
  serveSubscriptions,
} from './subscriptions/server';
import { withVerifiedTokenCache } from './token-cache';
import { type GatewayContext, UpstreamDataSource } from './upstream';

export type { GatewayContext } from './upstream';

export interface GatewayOptions {
  supergraphSdl: string;
  port: number;
  host?: string;
  tokenVerifier: TokenVerifier;
  logger: Logger;
  /** GATEWAY_SECRET: signs the client address sent to the subgraphs (users' rate limits, products' entities). */
  gatewaySecret?: string | undefined;
  /** TRUSTED_PROXIES: only from these peers is the client read from X-Forwarded-For (none when left out). */
  trustedProxies?: BlockList | undefined;
  /** The general per-client limit (Redis); none when left out. */
  clientRateLimit?: ClientRateLimit | undefined;
  /** Subgraph URLs that differ from those composed into the supergraph. */
  subgraphUrls?: Record<string, string>;
  /** How long one subgraph fetch may take before the field fails with SUBGRAPH_TIMEOUT (default 10 s). */
  subgraphTimeoutMs?: number;
  maxQueryDepth?: number;
  /** Deepest selection inside `__schema`/`__type` (Apollo Sandbox's introspection query is 15 deep). */
  maxIntrospectionDepth?: number;
  corsOrigins?: readonly string[];
  /** Cost, alias, root-field and size limits of an operation (default: defaultQueryLimits, as on the subgraphs). */
  queryLimits?: QueryLimits;
  /** Limits of graphql-ws subscriptions (defaults: defaultSubscriptionLimits). */
  subscriptionLimits?: Partial<SubscriptionLimits>;
  /**
   * Subscription root fields that are the same for every caller with a role (not personal): identical
   * operations of such callers share one upstream subscription and one hydration per event.
   */
  sharedSubscriptions?: Readonly<Record<string, 'ADMIN' | 'CUSTOMER'>>;
  /** Serve Prometheus `GET /metrics` there (METRICS_PORT; port 0: any free one); none when left out. */
  metricsServer?: { port: number; host: string } | undefined;
  /**
   * false: every request goes through Apollo's pipeline, none through the known-operations path (the tests
   * compare the two paths' answers). Default on.
   */
  knownOperations?: boolean;
}

/** Root fields shared by default: low-stock alerts are one feed for every admin. */
export const defaultSharedSubscriptions: Readonly<Record<string, 'ADMIN' | 'CUSTOMER'>> = {
  lowStockAlerts: 'ADMIN',
};

export interface RunningGateway {
  url: string;
  /** The graphql-ws endpoint (same port and path as HTTP). */
  wsUrl: string;
  httpServer: Server;
  health: HealthState;
  subscriptions: SubscriptionServer;
  metrics: ServiceMetrics;
  /** Where Prometheus scrapes the gateway; undefined without `metricsServer`. */
  metricsUrl: string | undefined;
  /** Operations served without Apollo's pipeline (`served` counts them). */
  knownOperations: KnownOperations<GatewayContext>;
  /** Loads another supergraph; open subscriptions end with SUPERGRAPH_RELOADED. */
  reloadSupergraph: (supergraphSdl: string) => void;
  stop: () => Promise<void>;
}

/**
 * The supergraph's single entry point: plans every operation across the subgraphs, forwards the caller's
 * token, serves Apollo Sandbox on GET /graphql. A bad token is refused here (401) before any planning; so are
 * malformed requests, values the shared scalars refuse (Decimal, DateTime) and NUL characters (400).
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { logger } = options;
  // Every check of the caller's token (HTTP context, plugins, websocket connects) goes through one cache of
  // verified tokens, so a request's token is verified once, and a known token not again until it expires.
  const tokenVerifier = withVerifiedTokenCache(options.tokenVerifier);
  const subgraphUrl = (name: string, url: string | undefined) => {
    const target = options.subgraphUrls?.[name] ?? url;
    if (!target) throw new Error(`subgraph ${name} has no URL`);
    return target;
  };
  let update: ((supergraphSdl: string) => void) | undefined;
  const upstreams: UpstreamDataSource[] = [];
  const metrics = new ServiceMetrics('gateway');
  const gateway = new ApolloGateway({
    // The function form keeps the `update` hook, so the supergraph can be reloaded (SIGHUP, tests).
    supergraphSdl: async (hooks) => {
      update = hooks.update;
      return { supergraphSdl: acceptSecurityFeatures(options.supergraphSdl) };
    },
    buildService: ({ name, url }) => {
      const source = new UpstreamDataSource({
        url: subgraphUrl(name, url),
        subgraph: name,
        logger,
        timeoutMs: options.subgraphTimeoutMs ?? 10_000,
        gatewaySecret: options.gatewaySecret,
        metrics: metrics.gateway(),
      });
      upstreams.push(source);
      return source;
    },
    logger,
  });
  let subscriptions: SubscriptionServer | undefined;
  // The supergraph knows Decimal and DateTime only by name; give them the kit's checks, so an invalid value is
  // refused here (BAD_USER_INPUT, 400) rather than by a subgraph after planning. A reload (any load after the
  // first) ends open subscriptions: their plans belong to the old supergraph.
  // Operations Apollo has served are served again without its pipeline (http/known-operations.ts); the plans
  // executor says which ones it runs itself.
  let cachedPlans: CachedPlanExecutor | undefined;
  const knownOperations = new KnownOperations<GatewayContext>(
    (document, operationName) => cachedPlans?.runsItself(document, operationName) ?? false,
  );
  gateway.onSchemaLoadOrUpdate(({ apiSchema }) => {
    applyKitScalars(apiSchema);
    knownOperations.schemaLoaded(apiSchema);
    subscriptions?.supergraphReloaded();
  });
  const app = createApp();
  // Refuse a bad token here (401) before any planning; the subgraphs verify it again themselves.
  const context = async (req: IncomingMessage): Promise<GatewayContext> => {
    const authorization = req.headers.authorization;
    await tokenVerifier.fromAuthorizationHeader(authorization);
    return {
      authorization,
      requestId: currentRequestId(),
      clientAddress: clientAddressOf(
        req.socket.remoteAddress,
        req.headers['x-forwarded-for'],
        options.trustedProxies,
      ),
    };
  };
  // JSON POSTs to /graphql skip express once Apollo has started (graphqlFastPath); everything else is the app's.
  let handle: RequestListener = app;
  const httpServer = createServer((req, res) => handle(req, res));
  const health: HealthState = { draining: false };
  const server = new ApolloServer<GatewayContext>({
    // Plans, shaping operations and operation checks once per parsed document (CachedPlanExecutor).
    gateway: withCachedPlans(gateway, (executor) => {
      cachedPlans = executor;
    }),
    introspection: true,
    // Clients get codes and messages, never stack traces or internal addresses (logged here instead).
    includeStacktraceInErrorResponses: false,
    formatError: (formatted, error) => formatError(logger, formatted, error),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      metricsPlugin(metrics),
      graphqlSpanPlugin(),
      requestGuardsPlugin(),
      depthLimitPlugin(options.maxQueryDepth ?? 12, options.maxIntrospectionDepth ?? 20),
      queryLimitsPlugin(options.queryLimits ?? defaultQueryLimits),
      // @authenticated / @requiresScopes of the supergraph, and the per-client limit, before any planning.
      authorizationPlugin({ gateway, tokenVerifier }),
      ...(options.clientRateLimit
        ? [clientRateLimitPlugin({ ...options.clientRateLimit, tokenVerifier, logger })]
        : []),
      knownOperations.plugin(),
      {
        async serverWillStart() {
          return {
            async drainServer() {
              await subscriptions?.dispose();
            },
          };
        },
      },
    ],
  });
  await server.start();
  subscriptions = serveSubscriptions({
    httpServer,
    gateway,
    apollo: server,
    tokenVerifier,
    logger,
    limits: { ...defaultSubscriptionLimits, ...options.subscriptionLimits },
    maxQueryDepth: options.maxQueryDepth ?? 12,
    maxIntrospectionDepth: options.maxIntrospectionDepth ?? 20,
    queryLimits: options.queryLimits ?? defaultQueryLimits,
    subgraphUrl,
    shared: options.sharedSubscriptions ?? defaultSharedSubscriptions,
    trustedProxies: options.trustedProxies,
  });

  mountHealthRoutes(app, {}, health);
  const maxQueryBytes = (options.queryLimits ?? defaultQueryLimits).maxBytes;
  // Each request in a span named 'gateway' (tracing on), whichever path serves it.
  const service = 'gateway';
  mountGraphQL(app, server, { corsOrigins: options.corsOrigins, maxQueryBytes, logger, context, service });
  handle = graphqlFastPath({
    apollo: server,
    context,
    logger,
    maxQueryBytes,
    fallback: app,
    service,
    knownOperations: options.knownOperations === false ? undefined : knownOperations,
  });
  mountErrorHandlers(app, logger);
  const url = await listen(httpServer, options.port, options.host);
  logger.info({ url }, 'gateway ready');
  const running = subscriptions;
  metrics.onScrape(() => {
    metrics.subscriptionsActive.set(running.streams.stats().subscribers);
    const sockets = new Map<string, number>();
    for (const upstream of upstreams) {
      sockets.set(upstream.subgraph, (sockets.get(upstream.subgraph) ?? 0) + upstream.openSockets);
    }
    for (const [subgraph, open] of sockets) metrics.gateway().upstreamSockets.set({ subgraph }, open);
  });
  const metricsServer =
    options.metricsServer && (await startMetricsServer(metrics, { ...options.metricsServer, logger }));
  return {
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    httpServer,
    health,
    subscriptions: running,
    metrics,
    metricsUrl: metricsServer?.url,
    knownOperations,
    reloadSupergraph: (supergraphSdl) => {
      if (!update) throw new Error('the gateway has not loaded a supergraph yet');
      update(acceptSecurityFeatures(supergraphSdl));
    },
    stop: async () => {
      health.draining = true;
      await server.stop();
      await Promise.all(upstreams.map((upstream) => upstream.close()));
      await metricsServer?.stop();
    },
  };
}
