import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type BaseContext } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Express } from 'express';
import type { DocumentNode, GraphQLError, GraphQLFormattedError, GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { TokenVerifier, Viewer } from './auth';
import { corsFor } from './cors';
import { AppError, toGraphQLError } from './errors';
import { type HealthState, mountHealthRoutes, type ReadinessCheck } from './health';
import type { Logger } from './logging';

/** What every resolver receives; a subgraph adds its own loaders and services through `createContext`. */
export interface RequestContext extends BaseContext {
  viewer: Viewer | undefined;
  logger: Logger;
  /** The raw token, so a subgraph can forward it when it calls another service. */
  token: string | undefined;
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
  /** Extra HTTP routes mounted before /graphql, such as a webhook that needs the raw body. */
  routes?: (app: Express) => void;
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

// Codes a client may act on; anything else that escapes a resolver is a bug and is masked.
const passThroughCodes = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
]);

// By name, not instanceof: graphql is loaded both as ESM and CJS (by CJS dependencies), two GraphQLError classes.
function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof Error && error.name === 'GraphQLError';
}

/** Coded errors keep their message and code; unexpected ones are logged and masked. */
export function formatError(
  logger: Logger,
  formatted: GraphQLFormattedError,
  error: unknown,
): GraphQLFormattedError {
  let original = unwrapResolverError(error);
  // graphql-js wraps what a resolver or subscription source threw; find the thrown error itself.
  while (isGraphQLError(original) && original.originalError) original = original.originalError;
  if (original instanceof AppError) {
    const { extensions } = toGraphQLError(original).toJSON();
    const { http: _http, ...rest } = extensions ?? {};
    return { ...formatted, message: original.message, extensions: rest };
  }
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && passThroughCodes.has(code)) return formatted;
  // A GraphQLError raised on purpose (by graphql-js validation or by us) is meant for the client.
  if (isGraphQLError(original)) return formatted;
  logger.error({ err: original, path: formatted.path }, 'unexpected error in a resolver');
  return {
    message: 'Internal server error',
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  };
}

/**
 * Serves an Apollo server at POST/GET /graphql with CORS and a JSON body limit. A coded error thrown while
 * building the context (a bad token) becomes a GraphQL error whose extensions.http sets the status (401).
 */
export function mountGraphQL<TContext extends BaseContext>(
  app: Express,
  apollo: ApolloServer<TContext>,
  options: {
    corsOrigins?: readonly string[] | undefined;
    context: (req: IncomingMessage) => Promise<TContext>;
  },
): void {
  app.use(
    '/graphql',
    corsFor(options.corsOrigins ?? ['*']),
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        try {
          return await options.context(req);
        } catch (error) {
          throw error instanceof AppError ? toGraphQLError(error) : error;
        }
      },
    }),
  );
}

/** Listens (port 0 picks a free one) and returns the GraphQL URL on that port. */
export async function listen(httpServer: Server, port: number, host = '0.0.0.0'): Promise<string> {
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
  const app = express();
  app.disable('x-powered-by');
  const httpServer = createServer(app);
  const health: HealthState = { draining: false };

  const buildContext = async (authorization: unknown): Promise<TContext> => {
    const token = bearer(authorization);
    if (authorization !== undefined && authorization !== '' && token === undefined) {
      throw new AppError('UNAUTHENTICATED', 'Authorization must be "Bearer <token>"');
    }
    const viewer = token === undefined ? undefined : await tokenVerifier.verify(token);
    const base: RequestContext = {
      viewer,
      token,
      logger: viewer ? logger.child({ userId: viewer.userId }) : logger,
    };
    return options.createContext ? options.createContext(base) : (base as TContext);
  };

  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql' });
  const wsServerCleanup = useServer<
    Record<string, unknown>,
    { authorization?: unknown; expiry?: NodeJS.Timeout }
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
          const { viewer } = await buildContext(authorization);
          ctx.extra.authorization = authorization;
          const remainingMs = viewer?.expiresAt ? viewer.expiresAt.getTime() - Date.now() : undefined;
          if (remainingMs !== undefined && remainingMs < 2 ** 31 - 1) {
            ctx.extra.expiry = setTimeout(() => ctx.extra.socket.close(4401, 'Token expired'), remainingMs);
          }
          return true;
        } catch (error) {
          logger.debug({ err: error }, 'websocket connection refused');
          return false;
        }
      },
      onClose: (ctx) => clearTimeout(ctx.extra.expiry),
      // A fresh context per operation: the token is checked again and DataLoader caches never outlive it.
      context: (ctx) => buildContext(ctx.extra.authorization),
      // Subscription results skip Apollo's formatError; give them the same coded, masked errors.
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => formatError(logger, e.toJSON(), e)),
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!result.errors?.length) return;
        return {
          data: result.data ?? null,
          errors: result.errors.map((e) => formatError(logger, e.toJSON(), e)),
          ...(result.extensions ? { extensions: result.extensions } : {}),
        };
      },
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
    context: (req) => buildContext(req.headers.authorization),
  });

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
