import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { BlockList } from 'node:net';
import type { ApolloGateway } from '@apollo/gateway';
import type { ApolloServer } from '@apollo/server';
import {
  clientAddressOf,
  closeAtTokenExpiry,
  formatError,
  type GraphQLWsExecutionResult,
  type GraphQLWsServerOptions,
  type Logger,
  nulRefusal,
  type QueryLimits,
  queryLimitRefusal,
  queryTooLarge,
  requestError,
  type SubscribePayload,
  type TokenVerifier,
  useGraphQLWsServer,
  type Viewer,
  WebSocketServer,
} from '@shop/kit';
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLFormattedError,
  getOperationAST,
  getVariableValues,
  Kind,
  type OperationDefinitionNode,
} from 'graphql';
import { authorizationRefusal, requirementsOf } from '../authorization';
import { operationDepth } from '../depth-limit';
import type { GatewayContext } from '../gateway';
import { DocumentCache } from './document-cache';
import { subscriptionError } from './errors';
import { plannerOf } from './internals';
import { type PreparedSubscription, type Subscriber, SubscriptionStreams } from './streams';
import { UpstreamPool } from './upstream';

export interface SubscriptionLimits {
  /** Subscriptions open at once through this gateway. */
  maxSubscriptions: number;
  /** Subscriptions one user (one token subject; anonymous callers by address) may have open at once. */
  maxSubscriptionsPerUser: number;
  /** Events a subscription may have waiting for a slow client; one more ends it (SUBSCRIPTION_QUEUE_OVERFLOW). */
  maxQueue: number;
  /** Ping interval on client and upstream sockets; an unanswered ping closes the socket. */
  keepAliveMs: number;
  /** Largest websocket message accepted from a client or a subgraph (a larger one closes the socket, 1009). */
  maxMessageBytes: number;
}

export const defaultSubscriptionLimits: SubscriptionLimits = {
  maxSubscriptions: 10_000,
  maxSubscriptionsPerUser: 20,
  maxQueue: 100,
  keepAliveMs: 12_000,
  maxMessageBytes: 1024 * 1024,
};

export interface SubscriptionServerOptions {
  httpServer: Server;
  gateway: ApolloGateway;
  /** Runs queries and mutations sent over the socket, with every plugin of the HTTP path. */
  apollo: ApolloServer<GatewayContext>;
  tokenVerifier: TokenVerifier;
  logger: Logger;
  limits: SubscriptionLimits;
  maxQueryDepth: number;
  maxIntrospectionDepth: number;
  /** The same cost, alias, root-field and size limits as HTTP (queries and mutations meet them again in Apollo). */
  queryLimits: QueryLimits;
  subgraphUrl: (name: string, composedUrl: string | undefined) => string;
  shared: Readonly<Record<string, 'ADMIN' | 'CUSTOMER'>>;
  /** As for HTTP: behind a trusted proxy, anonymous callers are limited by their X-Forwarded-For address. */
  trustedProxies?: BlockList | undefined;
}

export interface SubscriptionServer {
  streams: SubscriptionStreams;
  pool: UpstreamPool;
  /** Ends every subscription with SUPERGRAPH_RELOADED (the gateway loaded another supergraph). */
  supergraphReloaded: () => void;
  dispose: () => Promise<void>;
}

type SocketExtra = {
  authorization?: string | undefined;
  viewer?: Viewer | undefined;
  /** The peer's address: anonymous callers are limited per address. */
  address?: string | undefined;
  expiry?: NodeJS.Timeout | undefined;
};

/** How long before its token's expiry a client socket is closed (ahead of the subgraphs' own close). */
const EXPIRY_LEAD_MS = 500;
/** What onSubscribe hands to `subscribe`/`execute` as the operation's context. */
interface OperationContextValue {
  gateway: GatewayContext;
  viewer: Viewer | undefined;
  prepared?: PreparedSubscription;
  release?: () => void;
}

function coded(code: string, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

/** Places taken by open subscriptions, in total and per user. */
class SubscriptionLimiter {
  private total = 0;
  private readonly perUser = new Map<string, number>();

  constructor(private readonly limits: SubscriptionLimits) {}

  /** A release function, or the coded refusal. */
  acquire(user: string): (() => void) | GraphQLError {
    const mine = this.perUser.get(user) ?? 0;
    if (mine >= this.limits.maxSubscriptionsPerUser) {
      return subscriptionError(
        'TOO_MANY_SUBSCRIPTIONS',
        `You already have ${mine} subscriptions open; the limit is ${this.limits.maxSubscriptionsPerUser}`,
      );
    }
    if (this.total >= this.limits.maxSubscriptions) {
      return subscriptionError(
        'TOO_MANY_SUBSCRIPTIONS',
        'The gateway serves as many subscriptions as it can; retry later',
      );
    }
    this.total += 1;
    this.perUser.set(user, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total -= 1;
      const left = (this.perUser.get(user) ?? 1) - 1;
      if (left > 0) this.perUser.set(user, left);
      else this.perUser.delete(user);
    };
  }
}

/** An error as the client sees it: the kit's formatting (codes kept, insides masked). */
function formatted(logger: Logger, error: GraphQLError | GraphQLFormattedError): GraphQLFormattedError {
  if (error instanceof GraphQLError) return formatError(logger, error.toJSON(), error);
  return error; // already formatted (Apollo's executeOperation formats its own)
}

/**
 * graphql-ws on the gateway's /graphql (the HTTP port). The token travels in connectionParams
 * (`{ authorization: "Bearer …" }`) and is verified on connect: a forged or expired one closes the socket
 * (4403); without one the socket opens and each subgraph refuses what needs a user (UNAUTHENTICATED). A socket
 * is closed (4401) when its token expires. Each operation is parsed, validated against the API schema,
 * depth-limited and NUL-checked like an HTTP request; queries and mutations run through Apollo (same plugins as
 * HTTP); subscriptions run through SubscriptionStreams.
 */
export function serveSubscriptions(options: SubscriptionServerOptions): SubscriptionServer {
  const { logger, limits, tokenVerifier } = options;
  const pool = new UpstreamPool({
    logger,
    keepAliveMs: limits.keepAliveMs,
    pongTimeoutMs: limits.keepAliveMs,
    maxMessageBytes: limits.maxMessageBytes,
    connectTimeoutMs: 10_000,
  });
  const streams = new SubscriptionStreams({
    gateway: options.gateway,
    pool,
    logger,
    maxQueue: limits.maxQueue,
    subgraphUrl: options.subgraphUrl,
    shared: options.shared,
  });
  const limiter = new SubscriptionLimiter(limits);
  const documents = new DocumentCache({ maxEntries: 500, maxQueryBytes: 16 * 1024 });
  const wsServer = new WebSocketServer({
    server: options.httpServer,
    path: '/graphql',
    maxPayload: limits.maxMessageBytes,
  });

  const check = (
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Record<string, unknown>,
  ): GraphQLError | undefined => {
    const nul = nulRefusal(document, variables);
    if (nul) return nul;
    const fragments = new Map(
      document.definitions
        .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
        .map((d) => [d.name.value, d]),
    );
    const depth = operationDepth(operation.selectionSet, fragments);
    if (depth.fields > options.maxQueryDepth) {
      return requestError(
        'BAD_USER_INPUT',
        `Query is nested ${depth.fields} levels deep; the limit is ${options.maxQueryDepth}`,
      );
    }
    if (depth.introspection > options.maxIntrospectionDepth) {
      return requestError(
        'BAD_USER_INPUT',
        `Introspection is nested ${depth.introspection} levels deep; the limit is ${options.maxIntrospectionDepth}`,
      );
    }
    return undefined;
  };

  type Ctx = Parameters<
    NonNullable<GraphQLWsServerOptions<Record<string, unknown>, SocketExtra>['onSubscribe']>
  >[0];
  const checkAndPlan = (ctx: Ctx, _id: string, payload: SubscribePayload) => {
    const tooLarge = queryTooLarge(payload.query, options.queryLimits);
    if (tooLarge) return [tooLarge];
    const planner = plannerOf(options.gateway);
    const checked = documents.get(planner.schema, payload.query);
    if (checked.errors) return checked.errors;
    const { document } = checked;
    const operationName = payload.operationName ?? undefined;
    const operation = getOperationAST(document, operationName);
    if (!operation) {
      return [
        coded(
          'OPERATION_RESOLUTION_FAILURE',
          operationName
            ? `Unknown operation named "${operationName}"`
            : 'Must provide operationName when the query contains several operations',
        ),
      ];
    }
    const variables = payload.variables ?? {};
    const refused =
      check(document, operation, variables) ??
      queryLimitRefusal({ schema: planner.schema, document, operation, variables }, options.queryLimits) ??
      // @authenticated / @requiresScopes, as for HTTP (authorizationPlugin); the subgraph checks again.
      authorizationRefusal(
        requirementsOf(options.gateway),
        planner.schema,
        document,
        operation,
        ctx.extra.viewer,
      );
    if (refused) return [refused];
    // One id per operation, sent to the subgraphs (x-request-id on hydration fetches) for their log lines.
    const gatewayContext: GatewayContext = {
      authorization: ctx.extra.authorization,
      requestId: randomUUID(),
    };
    const contextValue: OperationContextValue = { gateway: gatewayContext, viewer: ctx.extra.viewer };
    const args = {
      schema: planner.schema,
      document,
      operationName,
      variableValues: variables,
      contextValue,
    };
    if (operation.operation !== 'subscription') return args;

    const coerced = getVariableValues(planner.schema, operation.variableDefinitions ?? [], variables);
    if (coerced.errors) return coerced.errors.map((e) => coded('BAD_USER_INPUT', e.message));
    try {
      contextValue.prepared = streams.prepare(document, operation, payload.query, variables);
    } catch (error) {
      logger.error({ err: error }, 'subscription could not be planned');
      return [coded('INTERNAL_SERVER_ERROR', 'Internal server error')];
    }
    const user = ctx.extra.viewer
      ? `user:${ctx.extra.viewer.userId}`
      : `anonymous:${ctx.extra.address ?? ''}`;
    const place = limiter.acquire(user);
    if (place instanceof GraphQLError) return [place];
    contextValue.release = place;
    return args;
  };

  const server = useGraphQLWsServer<Record<string, unknown>, SocketExtra>(
    {
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const authorization = params.authorization ?? params.Authorization;
        try {
          if (authorization !== undefined && typeof authorization !== 'string')
            throw new Error('not a string');
          const viewer = await tokenVerifier.fromAuthorizationHeader(authorization);
          ctx.extra.authorization = authorization || undefined;
          ctx.extra.viewer = viewer;
          ctx.extra.address = clientAddressOf(
            ctx.extra.request.socket.remoteAddress,
            ctx.extra.request.headers['x-forwarded-for'],
            options.trustedProxies,
          );
          // The upgrade request (headers and all) is not needed past this point: with thousands of open
          // sockets, keeping one each is memory for nothing.
          (ctx.extra as { request: unknown }).request = undefined;
          // The subgraphs end their upstream sockets at the token's expiry too; closing the client's a moment
          // earlier makes the client always see this socket's 4401, not an upstream error racing it.
          ctx.extra.expiry = closeAtTokenExpiry(ctx.extra.socket, viewer, EXPIRY_LEAD_MS);
          return true;
        } catch (error) {
          logger.debug({ err: error }, 'websocket connection refused');
          return false;
        }
      },
      onClose: (ctx) => clearTimeout(ctx.extra.expiry),
      // Anything unexpected while checking an operation answers that operation with a masked error; it would
      // otherwise close the whole socket (4500) with the error's message as the close reason.
      onSubscribe: (ctx, id, payload) => {
        try {
          return checkAndPlan(ctx, id, payload);
        } catch (error) {
          logger.error({ err: error }, 'websocket operation failed before it started');
          return [coded('INTERNAL_SERVER_ERROR', 'Internal server error')];
        }
      },
      // Queries and mutations over the socket: Apollo's whole pipeline, as over HTTP.
      execute: async (args) => {
        const context = args.contextValue as OperationContextValue;
        const response = await options.apollo.executeOperation(
          {
            query: args.document,
            ...(args.operationName ? { operationName: args.operationName } : {}),
            variables: (args.variableValues ?? {}) as Record<string, unknown>,
          },
          { contextValue: context.gateway },
        );
        if (response.body.kind !== 'single') {
          return { errors: [coded('BAD_REQUEST', 'Incremental delivery is not served over websocket')] };
        }
        return response.body.singleResult as GraphQLWsExecutionResult;
      },
      subscribe: (args) => {
        const context = args.contextValue as OperationContextValue;
        const prepared = context.prepared as PreparedSubscription;
        const subscriber: Subscriber = {
          context: context.gateway,
          viewer: context.viewer,
          onEnd: context.release ?? (() => {}),
        };
        return streams.subscribe(prepared, subscriber) as AsyncGenerator<GraphQLWsExecutionResult>;
      },
      // Results and errors of the socket skip Apollo's formatError: give them the same coded, masked form.
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => formatted(logger, e)),
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!result.errors?.length) return;
        return {
          data: result.data ?? null,
          errors: (result.errors as readonly (GraphQLError | GraphQLFormattedError)[]).map((e) =>
            formatted(logger, e),
          ),
        };
      },
    },
    wsServer,
    limits.keepAliveMs,
  );

  return {
    streams,
    pool,
    supergraphReloaded: () =>
      streams.endAll(
        subscriptionError('SUPERGRAPH_RELOADED', 'The gateway loaded a new supergraph: subscribe again'),
      ),
    dispose: async () => {
      streams.endAll(subscriptionError('SHUTTING_DOWN', 'The gateway is shutting down: reconnect'));
      await server.dispose();
      await pool.dispose();
    },
  };
}
