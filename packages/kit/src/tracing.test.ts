import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { createLogger, withLogFields } from './logging';
import {
  contextFromCarrier,
  inSpan,
  recordTraces,
  SpanStatusCode,
  startSpan,
  startTracing,
  traceCarrier,
  tracingSettings,
} from './tracing';

// The tests run in order: nothing installed first, then the in-memory recorder, then a real OTLP/HTTP export.

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

describe('tracing settings (OTEL_*)', () => {
  it('is off without an endpoint, or when OTEL_SDK_DISABLED=true', () => {
    expect(tracingSettings('orders', {})).toEqual({ tracesUrl: undefined, serviceName: 'orders' });
    expect(
      tracingSettings('orders', {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318',
        OTEL_SDK_DISABLED: 'true',
      }).tracesUrl,
    ).toBeUndefined();
  });

  it('sends to <endpoint>/v1/traces, or to the traces endpoint as given, under OTEL_SERVICE_NAME', () => {
    expect(tracingSettings('orders', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318/' })).toEqual({
      tracesUrl: 'http://localhost:4318/v1/traces',
      serviceName: 'orders',
    });
    expect(
      tracingSettings('orders', {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://jaeger:4318/custom',
        OTEL_SERVICE_NAME: 'orders-eu',
      }),
    ).toEqual({ tracesUrl: 'http://jaeger:4318/custom', serviceName: 'orders-eu' });
  });
});

describe('with no OTEL endpoint', () => {
  it('installs nothing: spans do not record and carry no context', async () => {
    const tracing = startTracing('orders', {});
    expect(tracing.enabled).toBe(false);
    await inSpan('work', {}, async (span) => {
      expect(span.isRecording()).toBe(false);
      expect(traceCarrier()).toBeUndefined();
    });
    // The context a carrier names is not continued either (no propagator installed).
    const parent = contextFromCarrier({
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    });
    expect(trace.getSpanContext(parent)).toBeUndefined();
    await tracing.shutdown();
  });
});

describe('carriers (in-memory recorder)', () => {
  it('inject the active span and extract it from HTTP headers, Kafka headers and stored JSON', async () => {
    const traces = recordTraces();
    try {
      const carrier = await inSpan('producer', {}, async (span) => {
        const injected = traceCarrier();
        const [, traceId, spanId] = TRACEPARENT.exec(injected?.traceparent ?? '') ?? [];
        expect([traceId, spanId]).toEqual([span.spanContext().traceId, span.spanContext().spanId]);
        return injected ?? {};
      });
      const producer = traces.spans().find((span) => span.name === 'producer');
      if (!producer) throw new Error('producer span not recorded');
      const traceparent = carrier.traceparent ?? '';
      const carriers = {
        http: { traceparent: [traceparent], 'content-type': 'application/json' },
        kafka: { traceparent: Buffer.from(traceparent), 'event-id': Buffer.from('x') },
        stored: JSON.parse(JSON.stringify(carrier)) as unknown,
      };
      for (const [kind, headers] of Object.entries(carriers)) {
        const child = startSpan(`consume ${kind}`, { parent: contextFromCarrier(headers) });
        child.end();
      }
      for (const kind of Object.keys(carriers)) {
        const child = traces.spans().find((span) => span.name === `consume ${kind}`);
        expect(child?.spanContext().traceId, kind).toBe(producer.spanContext().traceId);
        expect(child?.parentSpanContext?.spanId, kind).toBe(producer.spanContext().spanId);
      }

      // Nothing to continue (no header, a broken one, no carrier at all): a new trace, not an error.
      for (const broken of [{}, { traceparent: 'not-a-traceparent' }, null, 'text']) {
        const root = startSpan('root', { parent: contextFromCarrier(broken) });
        root.end();
        expect(traces.spans().at(-1)?.parentSpanContext).toBeUndefined();
        expect(traces.spans().at(-1)?.spanContext().traceId).not.toBe(producer.spanContext().traceId);
      }
    } finally {
      await traces.shutdown();
    }
  });

  it('records a thrown error on its span and throws it on', async () => {
    const traces = recordTraces();
    try {
      await expect(
        inSpan('failing', {}, async () => {
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(traces.spans().map((span) => [span.name, span.status.code, span.events[0]?.name])).toEqual([
        ['failing', SpanStatusCode.ERROR, 'exception'],
      ]);
    } finally {
      await traces.shutdown();
    }
  });
});

describe('with an OTLP endpoint', () => {
  it('exports spans over OTLP/HTTP to <endpoint>/v1/traces, flushed by shutdown', async () => {
    const received: { path: string | undefined; body: string }[] = [];
    const collector = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ path: req.url, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = collector.address() as AddressInfo;
      const tracing = startTracing('orders', { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` });
      expect(tracing.enabled).toBe(true);
      await inSpan('exported work', {}, async () => {});
      expect(received).toEqual([]); // batched, not sent per span
      await tracing.shutdown();
      expect(received.map((request) => request.path)).toEqual(['/v1/traces']);
      expect(received[0]?.body).toContain('exported work');
      expect(received[0]?.body).toContain('orders');
      // Uninstalled again: later spans are no-ops.
      await inSpan('after', {}, async (span) => expect(span.isRecording()).toBe(false));
    } finally {
      collector.close();
    }
  });
});

describe('log lines', () => {
  it('carry the active span’s traceId and spanId, and withLogFields’ correlationId', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger('orders', 'info', { write: (line: string) => lines.push(JSON.parse(line)) });
    const traces = recordTraces();
    try {
      logger.info('outside');
      await withLogFields({ correlationId: 'corr-1', eventId: 'event-1' }, () =>
        inSpan('handling', {}, async (span) => {
          logger.child({ component: 'consumer' }).info('inside');
          return span;
        }),
      );
      const handling = traces.spans().find((span) => span.name === 'handling');
      expect(
        lines.map(({ msg, traceId, spanId, correlationId, eventId }) => ({
          msg,
          traceId,
          spanId,
          correlationId,
          eventId,
        })),
      ).toEqual([
        {
          msg: 'outside',
          traceId: undefined,
          spanId: undefined,
          correlationId: undefined,
          eventId: undefined,
        },
        {
          msg: 'inside',
          traceId: handling?.spanContext().traceId,
          spanId: handling?.spanContext().spanId,
          correlationId: 'corr-1',
          eventId: 'event-1',
        },
      ]);
    } finally {
      await traces.shutdown();
    }
  });
});
