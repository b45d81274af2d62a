import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type BaseContext } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { expressMiddleware } from '@as-integrations/express5';
import type { Express, RequestHandler } from 'express';
import {
  type DocumentNode,
  execute,
  type GraphQLError,
  type GraphQLFormattedError,
  type GraphQLSchema,
  getOperationAST,
  parse,
  validate,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { closeAtTokenExpiry, type TokenVerifier, type Viewer } from './auth';
import { corsFor } from './cors';
import {
  defaultQueryLimits,
  type QueryLimits,
  queryLimitRefusal,
  queryLimitsPlugin,
  queryTooLarge,
} from './cost-limit';
import {
  deadlinePlugin,
  enforceDeadlines,
  isStatementTimeout,
  startDeadline,
  statementTimeoutError,
} from './deadline';
import { guardEntityRepresentations } from './entities';
import {
  AppError,
  clientErrorCodes,
  DependencyUnavailable,
  dependencyUnavailableError,
  toGraphQLError,
} from './errors';
import { type ClientInfo, FORWARDED_CLIENT_HEADER, readForwardedClient } from './forwarded-client';
import { type HealthState, mountHealthRoutes, type ReadinessCheck } from './health';
import {
  createApp,
  currentRequestId,
  jsonBody,
  jsonErrorHandler,
  mountErrorHandlers,
  requestScope,
} from './http';
import type { Logger } from './logging';
import { metricsPlugin, type ServiceMetrics, WsOperationMetrics } from './metrics';
import { nulRefusal, requestGuardsPlugin } from './request-guards';
import { graphqlSpanPlugin, serveInSpan } from './tracing';

/** What every resolver receives; a subgraph adds its own loaders and services through `createContext`. */
export interface RequestContext extends BaseContext {
  viewer: Viewer | undefined;
  logger: Logger;
  /** The raw token, so a subgraph can forward it when it calls another service. */
  token: string | undefined;
  /** The client's address and whether the request came through the gateway (forwarded-client.ts). */
  client: ClientInfo;
}

export interface SubgraphServerOptions<TContext extends RequestContext> {
  name: string;
  port: number;
  host?: string;
  typeDefs: DocumentNode;
  /** The subgraph's resolver map, typed where it is written (codegen's resolver types). */
  resolvers: object;
  tokenVerifier: TokenVerifier;
  logger: Logger;
  /** Adds per-request things (DataLoaders, services) to the verified base context. */
  createContext?: (base: RequestContext) => TContext | Promise<TContext>;
  readiness?: Record<string, ReadinessCheck>;
  /** Browser origins allowed to call /graphql (default: any). */
  corsOrigins?: readonly string[];
  /** Cost, alias, root-field and size limits of every operation, HTTP and websocket (default: defaultQueryLimits). */
  queryLimits?: QueryLimits;
  /** A query or mutation still resolving after this long answers REQUEST_TIMEOUT (default 8 s). */
  requestDeadlineMs?: number;
  /** Largest websocket message accepted (default 1 MiB); a larger one closes the socket with 1009. */
  wsMaxMessageBytes?: number;
  /** Extra HTTP routes mounted before /graphql, such as a webhook that needs the raw body. */
  routes?: (app: Express) => void;
  /** GATEWAY_SECRET: believe the gateway's signed client address (unset: every caller is a direct client). */
  gatewaySecret?: string | undefined;
  /** The service's metrics: every operation (HTTP and graphql-ws) counted and timed (default: none kept). */
  metrics?: ServiceMetrics | undefined;
}

export interface RunningSubgraph {
  url: string;
  wsUrl: string;
  schema: GraphQLSchema;
  httpServer: Server;
  health: HealthState;
  /** Stops taking requests, drains HTTP and websocket clients. */
  stop: () => Promise<void>;
}

// By shape, not instanceof: graphql is loaded both as ESM and CJS (by CJS dependencies), two GraphQLError
// classes; and not by name, which Apollo's subclasses (ValidationError, UserInputError…) change.
function isGraphQLError(error: unknown): error is GraphQLError {
  return (
    error instanceof Error &&
    'originalError' in error &&
    'extensions' in error &&
    typeof error.extensions === 'object'
  );
}

// What must never leave in an error: a URL or internal address, a file path, a stack frame, SQL.
const LEAK =
  /[a-z][\w+.-]*:\/\/|\blocalhost\b|\b\d{1,3}(?:\.\d{1,3}){3}\b|\/(?:work|home|root|usr|tmp|var|opt|srv|app)\/|node_modules|\.(?:[cm]?js|ts):\d+|\n\s*at |\bat \S+ \(|\b(?:SELECT|INSERT|UPDATE|DELETE)\b[\s\S]*\b(?:FROM|INTO|SET|WHERE)\b|prisma/i;

// Extensions that describe our insides (the gateway's view of a subgraph response, stack traces, HTTP hints).
const internalExtensions = new Set([
  'response',
  'serviceName',
  'exception',
  'stacktrace',
  'http',
  'originalError',
]);

/** Whether a message or value would tell a client about our insides. */
export function leaksInternals(value: unknown): boolean {
  if (value === undefined) return false;
  return LEAK.test(typeof value === 'string' ? value : JSON.stringify(value));
}

/** The extensions a client may see: no internal ones, none holding an address, path or stack. */
function clientExtensions(extensions: Record<string, unknown> | undefined): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(extensions ?? {}).filter(
      ([key, value]) => key === 'code' || (!internalExtensions.has(key) && !leaksInternals(value)),
    ),
  );
}

function masked(formatted: GraphQLFormattedError): GraphQLFormattedError {
  return {
    message: 'Internal server error',
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  };
}

/**
 * Coded errors keep their message and code (with only the extensions a client may see); unexpected ones are
 * logged with the request id and masked. Used by every subgraph and the gateway.
 */
export function formatError(
  logger: Logger,
  formatted: GraphQLFormattedError,
  error: unknown,
): GraphQLFormattedError {
  let original = unwrapResolverError(error);
  // graphql-js wraps what a resolver or subscription source threw; find the thrown error itself.
  while (isGraphQLError(original) && original.originalError) original = original.originalError;
  if (isStatementTimeout(original)) {
    // Postgres cancelled a statement (DATABASE_STATEMENT_TIMEOUT_MS): the client's request took too long.
    logger.warn(
      { err: original, path: formatted.path, requestId: currentRequestId() },
      'statement timed out',
    );
    const { message, extensions } = statementTimeoutError().toJSON();
    return { ...formatted, message, extensions: { code: extensions?.code } };
  }
  if (original instanceof DependencyUnavailable) {
    logger.warn(
      { err: original, path: formatted.path, requestId: currentRequestId() },
      'a service this request needs is unavailable',
    );
    original = dependencyUnavailableError(original);
  }
  if (original instanceof AppError) {
    const { extensions } = toGraphQLError(original).toJSON();
    return { ...formatted, message: original.message, extensions: clientExtensions(extensions) };
  }
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && clientErrorCodes.has(code)) {
    const innerCode = isGraphQLError(original) && original !== error ? original.extensions?.code : undefined;
    // A literal refused by a scalar fails validation; it is the same bad input as a refused variable.
    const clientCode =
      code === 'GRAPHQL_VALIDATION_FAILED' && innerCode === 'BAD_USER_INPUT' ? innerCode : code;
    return { ...formatted, extensions: { ...clientExtensions(formatted.extensions), code: clientCode } };
  }
  // A GraphQLError raised on purpose (by graphql-js, by us, by a subgraph through the gateway) is meant for the
  // client, unless it names our insides.
  if (isGraphQLError(original) && !leaksInternals(formatted.message)) {
    return { ...formatted, extensions: clientExtensions(formatted.extensions) };
  }
  logger.error(
    { err: original, path: formatted.path, requestId: currentRequestId() },
    'unexpected error in a resolver',
  );
  return masked(formatted);
}

/**
 * Serves an Apollo server at POST/GET /graphql with CORS and a JSON body (UTF-8, uncompressed, at most 1 MB). A
 * body the client got wrong is refused with a coded JSON error (400, 413, 415), never express's HTML page. A
 * coded error thrown while building the context (a bad token) becomes a GraphQL error whose extensions.http
 * sets the status (401). The request id is in scope for everything Apollo runs (currentRequestId).
 */
export function mountGraphQL<TContext extends BaseContext>(
  app: Express,
  apollo: ApolloServer<TContext>,
  options: {
    corsOrigins?: readonly string[] | undefined;
    context: (req: IncomingMessage) => Promise<TContext>;
    /** Where refused bodies (debug) and unexpected errors of the HTTP layer (error) are logged. */
    logger: Logger;
    /** A longer query text is refused (QUERY_TOO_LARGE, 400) before Apollo parses and validates it. */
    maxQueryBytes?: number | undefined;
    /** The service serving it: each request runs in a span of its own (serveInSpan; a no-op with tracing off). */
    service?: string | undefined;
  },
): void {
  const { maxQueryBytes, service } = options;
  // After the body is read (its stream events would lose the span), like the request id's scope.
  const traced: RequestHandler = (req, res, next) =>
    service === undefined ? next() : serveInSpan(service, req, res, next);
  const refuseLargeQueries: RequestHandler = (req, res, next) => {
    const query =
      req.method === 'GET' ? req.query.query : (req.body as { query?: unknown } | undefined)?.query;
    const refusal =
      maxQueryBytes === undefined ? undefined : queryTooLarge(query, { maxBytes: maxQueryBytes });
    if (!refusal) return next();
    const { http: _status, ...extensions } = refusal.extensions;
    res.status(400).json({ errors: [{ message: refusal.message, extensions }] });
  };
  app.use(
    '/graphql',
    corsFor(options.corsOrigins ?? ['*']),
    jsonBody(),
    requestScope,
    traced,
    refuseLargeQueries,
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        try {
          return await options.context(req);
        } catch (error) {
          throw error instanceof AppError ? toGraphQLError(error) : error;
        }
      },
    }),
    // The body's errors are answered here, so /graphql answers JSON even on an app without mountErrorHandlers.
    jsonErrorHandler(options.logger),
  );
}

/** Listens (port 0 picks a free one) and returns the GraphQL URL on that port. */
export async function listen(httpServer: Server, port: number, host = '127.0.0.1'): Promise<string> {
  await new Promise<void>((resolve) => httpServer.listen(port, host, resolve));
  return `http://localhost:${(httpServer.address() as AddressInfo).port}/graphql`;
}

function bearer(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return /^Bearer\s+(\S+)$/i.exec(value)?.[1];
}

/**
 * One HTTP server per subgraph: GraphQL over HTTP and over graphql-ws on the same `/graphql` path, health
 * routes, Apollo Sandbox as the landing page. Every request's token is verified here, by the subgraph itself.
 */
export async function startSubgraphServer<TContext extends RequestContext>(
  options: SubgraphServerOptions<TContext>,
): Promise<RunningSubgraph> {
  const { logger, tokenVerifier } = options;
  const schema = buildSubgraphSchema([
    { typeDefs: options.typeDefs, resolvers: options.resolvers as GraphQLResolverMap<TContext> },
  ]);
  guardEntityRepresentations(schema);
  enforceDeadlines(schema);
  const queryLimits = options.queryLimits ?? defaultQueryLimits;
  const requestDeadlineMs = options.requestDeadlineMs ?? 8_000;
  const app = createApp();
  const httpServer = createServer(app);
  const health: HealthState = { draining: false };
  const wsMetrics = options.metrics ? new WsOperationMetrics(options.metrics) : undefined;

  const clientOf = (req: IncomingMessage): ClientInfo =>
    readForwardedClient(
      options.gatewaySecret,
      req.headers[FORWARDED_CLIENT_HEADER],
      req.socket.remoteAddress,
    );
  const buildContext = async (
    authorization: unknown,
    client: ClientInfo,
    requestId?: string,
  ): Promise<TContext> => {
    const token = bearer(authorization);
    if (authorization !== undefined && authorization !== '' && token === undefined) {
      throw new AppError('UNAUTHENTICATED', 'Authorization must be "Bearer <token>"');
    }
    const viewer = token === undefined ? undefined : await tokenVerifier.verify(token);
    const bindings = { ...(requestId ? { requestId } : {}), ...(viewer ? { userId: viewer.userId } : {}) };
    const base: RequestContext = {
      viewer,
      token,
      client,
      logger: Object.keys(bindings).length > 0 ? logger.child(bindings) : logger,
    };
    return options.createContext ? options.createContext(base) : (base as TContext);
  };

  const wsServer = new WebSocketServer({
    server: httpServer,
    path: '/graphql',
    maxPayload: options.wsMaxMessageBytes ?? 1024 * 1024,
  });
  const wsServerCleanup = useServer<
    Record<string, unknown>,
    { authorization?: unknown; expiry?: NodeJS.Timeout | undefined }
  >(
    {
      schema,
      // The token travels in connectionParams (browsers cannot set headers on a websocket). A bad one is
      // refused at connect (4403); a good one keeps the socket only until it expires (4401: reconnect with a
      // fresh token), so a demoted or signed-out user does not keep a subscription for ever.
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const authorization = params.authorization ?? params.Authorization;
        try {
          const { viewer } = await buildContext(authorization, clientOf(ctx.extra.request));
          ctx.extra.authorization = authorization;
          ctx.extra.expiry = closeAtTokenExpiry(ctx.extra.socket, viewer);
          return true;
        } catch (error) {
          logger.debug({ err: error }, 'websocket connection refused');
          return false;
        }
      },
      onClose: (ctx) => clearTimeout(ctx.extra.expiry),
      // The HTTP plugins do not see websocket operations: the same query limits and NUL check here, measured
      // before validation (validating a huge operation is itself the costly part).
      onSubscribe: (ctx, id, payload) => {
        wsMetrics?.started(ctx, id, payload.operationName);
        const tooLarge = queryTooLarge(payload.query, queryLimits);
        if (tooLarge) return [tooLarge];
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch {
          return undefined; // graphql-ws answers a syntax error itself
        }
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return undefined; // graphql-ws answers that it cannot identify the operation
        const variables = payload.variables;
        const refusal =
          queryLimitRefusal({ schema, document, operation, variables }, queryLimits) ??
          nulRefusal(document, variables);
        if (refusal) return [refusal];
        const invalid = validate(schema, document);
        if (invalid.length > 0) return invalid;
        return { schema, document, operationName: payload.operationName, variableValues: variables };
      },
      // Queries and mutations over the socket keep the same deadline as over HTTP (subscriptions have none).
      execute: async (args) => {
        const deadline = startDeadline(args.contextValue as object, requestDeadlineMs);
        try {
          return await execute(args);
        } finally {
          deadline.clear();
        }
      },
      // A fresh context per operation: the token is checked again and DataLoader caches never outlive it.
      context: (ctx) => buildContext(ctx.extra.authorization, clientOf(ctx.extra.request)),
      // Subscription results skip Apollo's formatError; give them the same coded, masked errors.
      onError: (ctx, id, _payload, errors) => {
        const formatted = errors.map((e) => formatError(logger, e.toJSON(), e));
        wsMetrics?.answered(ctx, id, formatted);
        return formatted;
      },
      onNext: (ctx, id, _payload, _args, result) => {
        if (!result.errors?.length) return;
        const errors = result.errors.map((e) => formatError(logger, e.toJSON(), e));
        wsMetrics?.answered(ctx, id, errors);
        return {
          data: result.data ?? null,
          errors,
          ...(result.extensions ? { extensions: result.extensions } : {}),
        };
      },
      onOperation: (ctx, id, _payload, args, result) => {
        wsMetrics?.ran(ctx, id, args, result);
      },
      onComplete: (ctx, id) => wsMetrics?.completed(ctx, id),
    },
    wsServer,
  );

  const apollo = new ApolloServer<TContext>({
    schema,
    introspection: true,
    includeStacktraceInErrorResponses: false,
    formatError: (formatted, error) => formatError(logger, formatted, error),
    plugins: [
      // We report no traces to Apollo Studio; without this Apollo announces inline tracing on every start.
      ApolloServerPluginInlineTraceDisabled(),
      graphqlSpanPlugin<TContext>(),
      ...(options.metrics ? [metricsPlugin<TContext>(options.metrics)] : []),
      requestGuardsPlugin(),
      // What the gateway signed was measured there, as the client sent it (GATEWAY_SECRET, forwarded-client.ts).
      queryLimitsPlugin<TContext>(queryLimits, { trusted: (context) => context.client.viaGateway }),
      deadlinePlugin(requestDeadlineMs),
      ApolloServerPluginDrainHttpServer({ httpServer }),
      {
        async serverWillStart() {
          return {
            async drainServer() {
              await wsServerCleanup.dispose();
            },
          };
        },
      },
    ],
  });
  await apollo.start();

  mountHealthRoutes(app, options.readiness ?? {}, health);
  options.routes?.(app);
  mountGraphQL(app, apollo, {
    corsOrigins: options.corsOrigins,
    maxQueryBytes: queryLimits.maxBytes,
    logger,
    service: options.name,
    context: (req) => buildContext(req.headers.authorization, clientOf(req), currentRequestId()),
  });
  mountErrorHandlers(app, logger);

  const url = await listen(httpServer, options.port, options.host);
  logger.info({ url }, `${options.name} subgraph ready`);

  return {
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    schema,
    httpServer,
    health,
    stop: async () => {
      health.draining = true;
      await apollo.stop();
    },
  };
}
