import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import {
  currentRequestId,
  FORWARDED_CLIENT_HEADER,
  type GatewayMetrics,
  injectTraceHeaders,
  inSpan,
  type Logger,
  REQUEST_ID_HEADER,
  refusalCodes,
  SpanKind,
  signForwardedClient,
  spanAttributes,
} from '@shop/kit';
import { GraphQLError } from 'graphql';
import { Pool, errors as undiciErrors } from 'undici';

/** What the gateway knows of a request: the caller's raw token, already verified once here, and its id. */
export interface GatewayContext {
  authorization: string | undefined;
  /** Sent on to the subgraphs, so their log lines carry the same id as ours. */
  requestId: string | undefined;
  /** The client's IP address, forwarded to the subgraphs signed (FORWARDED_CLIENT_HEADER). */
  clientAddress?: string | undefined;
}

// A subgraph refusing the client's request (its input, its rights, its limits: the kit's refusalCodes) is passed
// on with its message, code and status; any other failure is ours and is masked (upstream subscriptions too).
function firstCodedError(body: unknown): { message: string; code: string } | undefined {
  if (typeof body !== 'object' || body === null || !('errors' in body) || !Array.isArray(body.errors)) {
    return undefined;
  }
  for (const error of body.errors as unknown[]) {
    if (typeof error !== 'object' || error === null) continue;
    const { message, extensions } = error as { message?: unknown; extensions?: { code?: unknown } };
    const code = extensions?.code;
    if (typeof message === 'string' && typeof code === 'string' && refusalCodes.has(code)) {
      return { message, code };
    }
  }
  return undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

type SubgraphResponse = Awaited<ReturnType<GraphQLDataSource['process']>>;

const masked = () =>
  new GraphQLError('Internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });

export interface UpstreamOptions {
  /** The subgraph's GraphQL URL. */
  url: string;
  /** Its name in the supergraph (for logs and error messages; never its address). */
  subgraph: string;
  logger: Logger;
  /** How long a subgraph may take to start answering, and to send each next part of its answer. */
  timeoutMs: number;
  /** Most connections kept open to the subgraph (keep-alive; requests queue beyond it). */
  connections?: number;
  /** GATEWAY_SECRET: sign the client's address for the subgraphs (unset: send none). */
  gatewaySecret?: string | undefined;
  /** Times every fetch (shop_gateway_subgraph_fetch_duration_seconds). */
  metrics?: GatewayMetrics | undefined;
}

/**
 * Fetches from one subgraph over a keep-alive undici pool (Apollo's default data source builds a
 * make-fetch-happen and node-fetch request per fetch, the largest single cost in our profile). Forwards the
 * caller's token and request id; every subgraph verifies the token again (never trusting the gateway).
 *
 * Failures reach the client coded and without the subgraph's address or raw body: a subgraph's own 4xx refusal
 * with its message and code; no answer within `timeoutMs` as SUBGRAPH_TIMEOUT; no connection as
 * SUBGRAPH_UNAVAILABLE (as for subscriptions); anything else masked as INTERNAL_SERVER_ERROR and logged.
 */
export class UpstreamDataSource implements GraphQLDataSource<GatewayContext> {
  private readonly pool: Pool;
  private readonly path: string;

  constructor(private readonly options: UpstreamOptions) {
    const url = new URL(options.url);
    this.path = `${url.pathname}${url.search}`;
    this.pool = new Pool(url.origin, {
      connections: options.connections ?? 64,
      keepAliveTimeout: 30_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  }

  /** One subgraph fetch, in a CLIENT span of its own whose context the subgraph continues (`traceparent`). */
  process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<SubgraphResponse> {
    const { subgraph } = this.options;
    const operationName = options.request.operationName ?? 'anonymous';
    const attributes = { [spanAttributes.subgraph]: subgraph, 'graphql.operation.name': operationName };
    return this.timed(
      inSpan(`fetch ${subgraph}`, { kind: SpanKind.CLIENT, attributes }, () => this.fetch(options)),
    );
  }

  /** The fetch's time by subgraph and outcome (error: it threw, whatever the cause). */
  private async timed(fetch: Promise<SubgraphResponse>): Promise<SubgraphResponse> {
    const histogram = this.options.metrics?.subgraphFetchDuration;
    if (!histogram) return fetch;
    const stopTimer = histogram.startTimer({ subgraph: this.options.subgraph });
    try {
      const response = await fetch;
      stopTimer({ outcome: 'ok' });
      return response;
    } catch (error) {
      stopTimer({ outcome: 'error' });
      throw error;
    }
  }

  /** The subgraph's name, as in the supergraph. */
  get subgraph(): string {
    return this.options.subgraph;
  }

  /** Connections open to the subgraph now (shop_gateway_upstream_sockets). */
  get openSockets(): number {
    return this.pool.stats.connected;
  }

  private async fetch(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<SubgraphResponse> {
    const { request, context } = options;
    const headers = injectTraceHeaders<Record<string, string>>({ 'content-type': 'application/json' });
    const gatewayContext = context as Partial<GatewayContext>;
    if (gatewayContext.authorization) headers.authorization = gatewayContext.authorization;
    const requestId = gatewayContext.requestId ?? currentRequestId();
    if (requestId) headers[REQUEST_ID_HEADER] = requestId;
    if (this.options.gatewaySecret) {
      const address = gatewayContext.clientAddress ?? 'gateway';
      headers[FORWARDED_CLIENT_HEADER] = signForwardedClient(this.options.gatewaySecret, address);
    }
    const body = JSON.stringify({
      query: request.query,
      variables: request.variables,
      operationName: request.operationName,
      ...(request.extensions ? { extensions: request.extensions } : {}),
    });
    let status: number;
    let text: string;
    let contentType: string | string[] | undefined;
    try {
      // undici's own timers (cheaper than a timer and an AbortController per fetch) bound the wait for the
      // answer's headers and every pause in its body.
      const response = await this.pool.request({ path: this.path, method: 'POST', headers, body });
      status = response.statusCode;
      contentType = response.headers['content-type'];
      text = await response.body.text();
    } catch (error) {
      throw this.fetchFailure(error);
    }
    const parsed = parseJson(text);
    if (status >= 200 && status < 300 && typeof parsed === 'object' && parsed !== null) {
      return parsed as SubgraphResponse;
    }
    const refusal = status >= 400 && status < 500 ? firstCodedError(parsed) : undefined;
    const log = {
      subgraph: this.options.subgraph,
      url: this.options.url,
      status,
      contentType,
      body: parsed ?? text.slice(0, 2000),
      requestId,
    };
    if (refusal) {
      this.options.logger.debug(log, 'subgraph refused the request');
      throw new GraphQLError(refusal.message, { extensions: { code: refusal.code, http: { status } } });
    }
    this.options.logger.error(log, 'subgraph failed');
    throw masked();
  }

  private fetchFailure(error: unknown): GraphQLError {
    const { subgraph, url, timeoutMs, logger } = this.options;
    const requestId = currentRequestId();
    if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) {
      logger.warn({ subgraph, url, timeoutMs, requestId }, 'subgraph did not answer in time');
      return new GraphQLError(`The ${subgraph} service did not answer within ${timeoutMs} ms`, {
        extensions: { code: 'SUBGRAPH_TIMEOUT' },
      });
    }
    logger.error({ err: error, subgraph, url, requestId }, 'subgraph unreachable');
    return new GraphQLError(`The ${subgraph} service is unavailable`, {
      extensions: { code: 'SUBGRAPH_UNAVAILABLE' },
    });
  }

  /** Closes the pool's connections (the gateway stopping). */
  close(): Promise<void> {
    return this.pool.close();
  }
}
