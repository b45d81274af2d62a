import { createGraphQLWsClient, type GraphQLWsClient, type Logger, refusalCodes, WebSocket } from '@shop/kit';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { subscriptionError } from './errors';

export interface UpstreamRequest {
  query: string;
  variables: Record<string, unknown>;
  operationName?: string | undefined;
}

/** One event as a subgraph sent it. */
export interface UpstreamResult {
  data?: Record<string, unknown> | null | undefined;
  errors?: readonly GraphQLFormattedError[] | undefined;
}

/** What an upstream subscription tells its one listener; errors are already client-safe and coded. */
export interface UpstreamSink {
  next(result: UpstreamResult): void;
  error(error: GraphQLError): void;
  complete(): void;
}

export interface UpstreamPoolOptions {
  logger: Logger;
  /** How often an idle upstream socket is pinged (graphql-ws ping); 0 disables. */
  keepAliveMs: number;
  /** A ping unanswered this long closes the socket, so a half-open connection ends its subscriptions. */
  pongTimeoutMs: number;
  /** Largest message accepted from a subgraph. */
  maxMessageBytes: number;
  /** Opening handshake and connection_ack must complete within this. */
  connectTimeoutMs: number;
}

/** A subgraph's GraphQL error as a client may see it: its message and code, or masked. */
export function clientErrorFromUpstream(
  error: GraphQLFormattedError,
  subgraph: string,
  logger: Logger,
): GraphQLError {
  const code = error.extensions?.code;
  if (typeof code === 'string' && refusalCodes.has(code)) {
    return new GraphQLError(error.message, { extensions: { code } });
  }
  logger.error({ subgraph, error }, 'subgraph subscription failed');
  return new GraphQLError('Internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
}

function closeCodeOf(reason: unknown): number | undefined {
  if (typeof reason !== 'object' || reason === null || !('code' in reason)) return undefined;
  return typeof reason.code === 'number' ? reason.code : undefined;
}

/** Why an upstream subscription ended with an error, as one client-safe coded error. */
function upstreamFailure(reason: unknown, subgraph: string, logger: Logger): GraphQLError {
  if (Array.isArray(reason) && reason.length > 0) {
    return clientErrorFromUpstream(reason[0] as GraphQLFormattedError, subgraph, logger);
  }
  const code = closeCodeOf(reason);
  // The subgraph closes a socket whose token expired with 4401 and refuses a bad token with 4403.
  if (code === 4401)
    return subscriptionError('UNAUTHENTICATED', 'Token expired: subscribe again with a fresh token');
  if (code === 4403) return subscriptionError('UNAUTHENTICATED', 'The token was refused');
  logger.warn(
    { subgraph, closeCode: code, err: reason instanceof Error ? reason : undefined },
    'subgraph socket lost',
  );
  return subscriptionError(
    'SUBGRAPH_UNAVAILABLE',
    `The ${subgraph} service ended this subscription (restarted or unreachable): subscribe again`,
  );
}

interface PooledSocket {
  client: GraphQLWsClient;
  users: number;
}

/**
 * Upstream graphql-ws sockets, one per (subgraph URL, credentials): every subscription one caller has open
 * on one subgraph travels over one socket (a socket carries one token, so never further). A socket opens with
 * its first subscription and is disposed with its last. It is never reconnected behind a subscription's back:
 * when it closes (the subgraph restarted, a ping went unanswered, the token expired) each of its subscriptions
 * ends with a coded error and the client subscribes again.
 */
export class UpstreamPool {
  private readonly sockets = new Map<string, PooledSocket>();

  constructor(private readonly options: UpstreamPoolOptions) {}

  /** Open sockets (for tests and metrics). */
  get size(): number {
    return this.sockets.size;
  }

  /** Starts `request` on the subgraph at `wsUrl`; the returned function unsubscribes (idempotent). */
  subscribe(
    subgraph: string,
    wsUrl: string,
    authorization: string | undefined,
    request: UpstreamRequest,
    sink: UpstreamSink,
  ): () => void {
    const key = `${wsUrl}\u0000${authorization ?? ''}`;
    let pooled = this.sockets.get(key);
    if (!pooled) {
      pooled = { client: this.connect(wsUrl, authorization), users: 0 };
      this.sockets.set(key, pooled);
    }
    const socket = pooled;
    socket.users += 1;
    let done = false;
    const release = () => {
      if (done) return;
      done = true;
      socket.users -= 1;
      if (socket.users === 0 && this.sockets.get(key) === socket) {
        this.sockets.delete(key);
        void socket.client.dispose();
      }
    };
    const { logger } = this.options;
    const unsubscribe = socket.client.subscribe<Record<string, unknown>>(
      { query: request.query, variables: request.variables, operationName: request.operationName ?? null },
      {
        next: (result) => {
          if (!done) sink.next(result);
        },
        error: (reason) => {
          if (done) return;
          release();
          sink.error(upstreamFailure(reason, subgraph, logger));
        },
        complete: () => {
          if (done) return;
          release();
          sink.complete();
        },
      },
    );
    return () => {
      if (done) return;
      // Sends `complete` upstream: the subgraph returns its iterator (its `finally` runs).
      unsubscribe();
      release();
    };
  }

  async dispose(): Promise<void> {
    const sockets = [...this.sockets.values()];
    this.sockets.clear();
    await Promise.all(sockets.map((socket) => socket.client.dispose()));
  }

  private connect(wsUrl: string, authorization: string | undefined): GraphQLWsClient {
    const { keepAliveMs, pongTimeoutMs, maxMessageBytes, connectTimeoutMs } = this.options;
    class BoundedWebSocket extends WebSocket {
      constructor(address: string | URL, protocols?: string | string[]) {
        super(address, protocols, { maxPayload: maxMessageBytes, handshakeTimeout: connectTimeoutMs });
      }
    }
    let active: WebSocket | undefined;
    let pongWait: NodeJS.Timeout | undefined;
    return createGraphQLWsClient({
      url: wsUrl,
      webSocketImpl: BoundedWebSocket,
      connectionParams: authorization ? { authorization } : {},
      lazy: true,
      lazyCloseTimeout: 0,
      // Never resubscribe silently: events published while the socket was down would be lost unnoticed.
      retryAttempts: 0,
      connectionAckWaitTimeout: connectTimeoutMs,
      keepAlive: keepAliveMs,
      on: {
        connected: (socket) => {
          active = socket as WebSocket;
        },
        ping: (received) => {
          if (received) return;
          clearTimeout(pongWait);
          // terminate, not close: a peer that does not answer pings will not answer a close handshake either, and
          // the subscriptions would wait out the handshake's 30 s instead of ending now.
          pongWait = setTimeout(() => active?.terminate(), pongTimeoutMs);
        },
        pong: (received) => {
          if (received) clearTimeout(pongWait);
        },
        closed: () => {
          clearTimeout(pongWait);
          active = undefined;
        },
      },
    });
  }
}
