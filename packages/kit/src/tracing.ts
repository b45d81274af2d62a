import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  propagation,
  type Span,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

export type { ReadableSpan, Span };
export { SpanKind, SpanStatusCode };

/**
 * Trace context as plain strings (`traceparent`, `tracestate`): what an outbox row stores and a Kafka message
 * or an HTTP request carries.
 */
export type TraceCarrier = Record<string, string>;

/** Attribute names of our own spans (besides OpenTelemetry's semantic conventions). Values are bounded. */
export const spanAttributes = {
  /** The process a span belongs to (`gateway`, `orders`, …): tests run every service in one process. */
  service: 'shop.service',
  /** The subgraph a gateway fetch went to. */
  subgraph: 'shop.subgraph',
  eventType: 'shop.event.type',
  correlationId: 'shop.correlation_id',
  emailTemplate: 'shop.email.template',
} as const;

const tracer = () => trace.getTracer('@shop/kit');

export interface Tracing {
  /** Whether spans are recorded and exported (false: the OpenTelemetry API stays a no-op). */
  enabled: boolean;
  /** Exports what has been recorded so far. */
  flush: () => Promise<void>;
  /** Flushes and uninstalls (the last step of a graceful shutdown). Safe to call twice. */
  shutdown: () => Promise<void>;
}

const off: Tracing = { enabled: false, flush: async () => {}, shutdown: async () => {} };

export interface TracingSettings {
  /** Where OTLP/HTTP traces go; undefined: tracing is off. */
  tracesUrl: string | undefined;
  serviceName: string;
}

/**
 * The standard OpenTelemetry variables: on when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the full URL) or
 * OTEL_EXPORTER_OTLP_ENDPOINT (a base URL, `/v1/traces` appended) is set, unless OTEL_SDK_DISABLED=true;
 * OTEL_SERVICE_NAME names the service (default: the process's own name).
 */
export function tracingSettings(
  defaultServiceName: string,
  env: Record<string, string | undefined> = process.env,
): TracingSettings {
  const serviceName = env.OTEL_SERVICE_NAME?.trim() || defaultServiceName;
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return { tracesUrl: undefined, serviceName };
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const tracesUrl = traces || (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined);
  return { tracesUrl, serviceName };
}

let installed: NodeTracerProvider | undefined;
/** Whether spans are being recorded in this process (startTracing with an endpoint, or recordTraces). */
export function tracingEnabled(): boolean {
  return installed !== undefined;
}

/** What `work` gets while tracing is off: a span that records nothing, as the no-op API would hand out. */
const noSpan: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

function install(serviceName: string, processor: SimpleSpanProcessor | BatchSpanProcessor): Tracing {
  if (installed) throw new Error('tracing is already started in this process');
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }),
    spanProcessors: [processor],
  });
  // The async-hooks context manager (the active span follows awaits) and W3C trace context only.
  provider.register({ propagator: new W3CTraceContextPropagator() });
  installed = provider;
  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    flush: () => provider.forceFlush(),
    shutdown: () => {
      stopped ??= provider.shutdown().finally(() => {
        trace.disable();
        propagation.disable();
        context.disable();
        if (installed === provider) installed = undefined;
      });
      return stopped;
    },
  };
}

/**
 * Starts tracing for this process from the OTEL_* settings (tracingSettings): spans are batched and sent over
 * OTLP/HTTP; with no endpoint nothing is installed and every span is a no-op. Once per process (the gateway's
 * and runSubgraph's entry points); `shutdown()` at the end of a graceful stop flushes what is left.
 */
export function startTracing(
  defaultServiceName: string,
  env: Record<string, string | undefined> = process.env,
): Tracing {
  const { tracesUrl, serviceName } = tracingSettings(defaultServiceName, env);
  if (!tracesUrl) return off;
  return install(serviceName, new BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl })));
}

export interface RecordedTraces extends Tracing {
  /** Every span ended so far, in the order they ended. */
  spans: () => ReadableSpan[];
  reset: () => void;
}

/** For tests: records every span of this process in memory (each span exported as it ends). */
export function recordTraces(serviceName = 'test', exporter: SpanExporter = new InMemorySpanExporter()) {
  const memory = exporter instanceof InMemorySpanExporter ? exporter : undefined;
  const tracing = install(serviceName, new SimpleSpanProcessor(exporter));
  return {
    ...tracing,
    spans: () => memory?.getFinishedSpans().slice() ?? [],
    reset: () => memory?.reset(),
  } satisfies RecordedTraces;
}

// Reads HTTP headers (IncomingHttpHeaders), Kafka headers (Buffers) and stored carriers (strings) alike.
const carrierGetter: TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === 'string') return first;
    return Buffer.isBuffer(first) ? first.toString('utf8') : undefined;
  },
};

/**
 * The trace context of `ctx` (default: the active one) as a carrier to store or send; undefined when there is
 * no span to continue (tracing off, or nothing active).
 */
export function traceCarrier(ctx: Context = context.active()): TraceCarrier | undefined {
  const carrier: TraceCarrier = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent === undefined ? undefined : carrier;
}

/** Adds the active trace context to outgoing headers (HTTP or Kafka) and returns them. */
export function injectTraceHeaders<T extends Record<string, unknown>>(headers: T): T {
  Object.assign(headers, traceCarrier());
  return headers;
}

/**
 * The context a carrier continues (HTTP headers, Kafka headers, a stored carrier), on top of `base` (default:
 * the active context); `base` itself when the carrier holds no valid trace context.
 */
export function contextFromCarrier(carrier: unknown, base: Context = context.active()): Context {
  if (typeof carrier !== 'object' || carrier === null) return base;
  return propagation.extract(base, carrier as Record<string, unknown>, carrierGetter);
}

/**
 * Runs `work` in a new active span (a child of `parent`, default the active context) and ends it: an error
 * thrown is recorded on the span (status ERROR) and thrown on.
 */
export function inSpan<T>(
  name: string,
  options: SpanOptions & { parent?: Context | undefined },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  // Tracing off: no span to start nor context to switch (that bookkeeping cost a few % of the gateway's CPU).
  if (!installed) {
    try {
      return work(noSpan);
    } catch (error) {
      return Promise.reject(error);
    }
  }
  const { parent, ...spanOptions } = options;
  return tracer().startActiveSpan(name, spanOptions, parent ?? context.active(), async (span) => {
    try {
      return await work(span);
    } catch (error) {
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Starts a span the caller ends (one per message of a batch sent at once), a child of `parent` (default: active). */
export function startSpan(name: string, options: SpanOptions & { parent?: Context | undefined }): Span {
  const { parent, ...spanOptions } = options;
  return tracer().startSpan(name, spanOptions, parent ?? context.active());
}

/** The carrier that continues `span` (a message's headers); undefined when tracing is off. */
export function spanCarrier(span: Span): TraceCarrier | undefined {
  return traceCarrier(trace.setSpan(context.active(), span));
}

/** Marks a span failed with the error (its message and stack stay in the trace, never in a response). */
export function failSpan(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    ...(error instanceof Error ? { message: error.message } : {}),
  });
}

/** The active span's ids for a log line; empty when no span is recording. */
export function activeTraceIds(): { traceId?: string; spanId?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const spanContext = span.spanContext();
  if (!isSpanContextValid(spanContext)) return {};
  return { traceId: spanContext.traceId, spanId: spanContext.spanId };
}

/**
 * Serves one GraphQL HTTP request inside a SERVER span that continues the caller's `traceparent` (the gateway's
 * fetch, or a client's). Named `POST /graphql` until the operation is known (graphqlSpanPlugin renames it);
 * ended when the response is finished or the connection closes.
 */
export function serveInSpan(
  service: string,
  req: IncomingMessage,
  res: ServerResponse,
  serve: () => void,
): void {
  if (!installed) {
    serve();
    return;
  }
  const parent = contextFromCarrier(req.headers, context.active());
  const span = tracer().startSpan(
    `${req.method ?? 'GET'} /graphql`,
    {
      kind: SpanKind.SERVER,
      attributes: {
        [spanAttributes.service]: service,
        'http.request.method': req.method ?? 'GET',
        'url.path': '/graphql',
      },
    },
    parent,
  );
  res.once('close', () => {
    span.setAttribute('http.response.status_code', res.statusCode);
    if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  context.with(trace.setSpan(parent, span), serve);
}

/**
 * Names the request's span after its operation (`mutation checkout`) once Apollo has resolved it, with the
 * operation's type and name as attributes, and the first error's code (ours, not the client's, fails it). For the gateway
 * and every subgraph (serveInSpan made the span active).
 */
export function graphqlSpanPlugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      const span = trace.getActiveSpan();
      if (!span?.isRecording()) return;
      return {
        async didResolveOperation({ operation, operationName }) {
          if (!operation) return;
          const name = operationName ?? 'anonymous';
          span.updateName(`${operation.operation} ${name}`);
          span.setAttributes({
            'graphql.operation.type': operation.operation,
            'graphql.operation.name': name,
          });
        },
        async willSendResponse({ response }) {
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
          const code = errors?.[0]?.extensions?.code;
          if (typeof code !== 'string') return;
          span.setAttribute('graphql.error.code', code);
          // The client's mistakes (BAD_USER_INPUT, NOT_FOUND, …) are answers; these are our failures.
          if (code === 'INTERNAL_SERVER_ERROR' || code.startsWith('SUBGRAPH_')) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: code });
          }
        },
      };
    },
  };
}
