import { createServer, type Server } from 'node:http';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  applyKitScalars,
  createApp,
  currentRequestId,
  formatError,
  type HealthState,
  type Logger,
  listen,
  mountErrorHandlers,
  mountGraphQL,
  mountHealthRoutes,
  REQUEST_ID_HEADER,
  requestGuardsPlugin,
  type TokenVerifier,
} from '@shop/kit';
import { GraphQLError } from 'graphql';
import { depthLimitPlugin } from './depth-limit';
import {
  defaultSubscriptionLimits,
  type SubscriptionLimits,
  type SubscriptionServer,
  serveSubscriptions,
} from './subscriptions/server';

/** What the gateway knows of a request: the caller's raw token, already verified once here, and its id. */
export interface GatewayContext {
  authorization: string | undefined;
  /** Sent on to the subgraphs, so their log lines carry the same id as ours. */
  requestId: string | undefined;
}

type SubgraphResponse = Parameters<RemoteGraphQLDataSource['errorFromResponse']>[0];

// A subgraph refusing the client's request with one of these (401 for a token that expired on the way, 403,
// 400 for input) is passed on with its message, code and status; any other failure is ours and is masked.
const forwardedCodes = new Set(['BAD_USER_INPUT', 'UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT']);

function firstCodedError(body: unknown): { message: string; code: string } | undefined {
  if (typeof body !== 'object' || body === null || !('errors' in body) || !Array.isArray(body.errors)) {
    return undefined;
  }
  for (const error of body.errors as unknown[]) {
    if (typeof error !== 'object' || error === null) continue;
    const { message, extensions } = error as { message?: unknown; extensions?: { code?: unknown } };
    const code = extensions?.code;
    if (typeof message === 'string' && typeof code === 'string' && forwardedCodes.has(code)) {
      return { message, code };
    }
  }
  return undefined;
}

/**
 * Forwards the caller's token (and request id) to every subgraph, which verifies it again (never trusting the
 * gateway). A subgraph's HTTP failure reaches the client as the subgraph's own coded error, or masked; never
 * with the subgraph's address or raw body (Apollo's default puts both in `extensions.response`).
 */
class AuthForwardingDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    url: string,
    private readonly subgraph: string,
    private readonly logger: Logger,
  ) {
    super({ url });
  }

  override willSendRequest({
    request,
    context,
  }: Parameters<RemoteGraphQLDataSource<GatewayContext>['willSendRequest'] & {}>[0]) {
    if (context.authorization) request.http?.headers.set('authorization', context.authorization);
    if (context.requestId) request.http?.headers.set(REQUEST_ID_HEADER, context.requestId);
  }

  override async errorFromResponse(response: SubgraphResponse): Promise<GraphQLError> {
    const body = await this.parseBody(response).catch(() => undefined);
    const refusal = response.status >= 400 && response.status < 500 ? firstCodedError(body) : undefined;
    const log = {
      subgraph: this.subgraph,
      url: response.url,
      status: response.status,
      body,
      requestId: currentRequestId(),
    };
    if (refusal) {
      this.logger.debug(log, 'subgraph refused the request');
      return new GraphQLError(refusal.message, {
        extensions: { code: refusal.code, http: { status: response.status } },
      });
    }
    this.logger.error(log, 'subgraph failed');
    return new GraphQLError('Internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  }
}

export interface GatewayOptions {
  supergraphSdl: string;
  port: number;
  host?: string;
  tokenVerifier: TokenVerifier;
  logger: Logger;
  /** Subgraph URLs that differ from those composed into the supergraph. */
  subgraphUrls?: Record<string, string>;
  maxQueryDepth?: number;
  /** Deepest selection inside `__schema`/`__type` (Apollo Sandbox's introspection query is 15 deep). */
  maxIntrospectionDepth?: number;
  corsOrigins?: readonly string[];
  /** Limits of graphql-ws subscriptions (defaults: defaultSubscriptionLimits). */
  subscriptionLimits?: Partial<SubscriptionLimits>;
  /**
   * Subscription root fields that are the same for every caller with a role (not personal): identical
   * operations of such callers share one upstream subscription and one hydration per event.
   */
  sharedSubscriptions?: Readonly<Record<string, 'ADMIN' | 'CUSTOMER'>>;
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
  const { logger, tokenVerifier } = options;
  const subgraphUrl = (name: string, url: string | undefined) => {
    const target = options.subgraphUrls?.[name] ?? url;
    if (!target) throw new Error(`subgraph ${name} has no URL`);
    return target;
  };
  let update: ((supergraphSdl: string) => void) | undefined;
  const gateway = new ApolloGateway({
    // The function form keeps the `update` hook, so the supergraph can be reloaded (SIGHUP, tests).
    supergraphSdl: async (hooks) => {
      update = hooks.update;
      return { supergraphSdl: options.supergraphSdl };
    },
    buildService: ({ name, url }) => new AuthForwardingDataSource(subgraphUrl(name, url), name, logger),
    logger,
  });
  let subscriptions: SubscriptionServer | undefined;
  // The supergraph knows Decimal and DateTime only by name; give them the kit's checks, so an invalid value is
  // refused here (BAD_USER_INPUT, 400) rather than by a subgraph after planning. A reload (any load after the
  // first) ends open subscriptions: their plans belong to the old supergraph.
  gateway.onSchemaLoadOrUpdate(({ apiSchema }) => {
    applyKitScalars(apiSchema);
    subscriptions?.supergraphReloaded();
  });
  const app = createApp();
  const httpServer = createServer(app);
  const health: HealthState = { draining: false };
  const server = new ApolloServer<GatewayContext>({
    gateway,
    introspection: true,
    // Clients get codes and messages, never stack traces or internal addresses (logged here instead).
    includeStacktraceInErrorResponses: false,
    formatError: (formatted, error) => formatError(logger, formatted, error),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      requestGuardsPlugin(),
      depthLimitPlugin(options.maxQueryDepth ?? 12, options.maxIntrospectionDepth ?? 20),
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
    subgraphUrl,
    shared: options.sharedSubscriptions ?? defaultSharedSubscriptions,
  });

  mountHealthRoutes(app, {}, health);
  mountGraphQL(app, server, {
    corsOrigins: options.corsOrigins,
    logger,
    // Refuse a bad token here (401) before any planning; the subgraphs verify it again themselves.
    context: async (req) => {
      const authorization = req.headers.authorization;
      await tokenVerifier.fromAuthorizationHeader(authorization);
      return { authorization, requestId: currentRequestId() };
    },
  });
  mountErrorHandlers(app, logger);
  const url = await listen(httpServer, options.port, options.host);
  logger.info({ url }, 'gateway ready');
  const running = subscriptions;
  return {
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    httpServer,
    health,
    subscriptions: running,
    reloadSupergraph: (supergraphSdl) => {
      if (!update) throw new Error('the gateway has not loaded a supergraph yet');
      update(supergraphSdl);
    },
    stop: async () => {
      health.draining = true;
      await server.stop();
    },
  };
}
