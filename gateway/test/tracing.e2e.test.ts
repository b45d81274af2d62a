import {
  AddCartItemDocument,
  CheckoutDocument,
  CreateInventoryDocument,
  CreateProductDocument,
  LoginDocument,
} from '@shop/client';
import {
  type ReadableSpan,
  type RecordedTraces,
  recordTraces,
  SpanKind,
  SpanStatusCode,
  spanAttributes,
} from '@shop/kit';
import { uniqueSku, waitFor } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { address, mailTo } from './checkout-support';
import { demo, startTestSupergraph, type TestSupergraph } from './supergraph';

// One checkout through the gateway, every service in this process recording its spans in memory: the trace
// must run unbroken from the gateway's request through the subgraph fetch, the orders operation, the outbox
// row and its Kafka message, to the notifications consumer and the confirmation email it sends.

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe('one trace for one checkout', () => {
  let traces: RecordedTraces;
  let supergraph: TestSupergraph;

  beforeAll(async () => {
    // Installed before anything starts, as a process's entry point does.
    traces = recordTraces();
    supergraph = await startTestSupergraph({ env: { NOTIFY_DELIVERY_INTERVAL_MS: '500' } });
  });

  afterAll(async () => {
    await supergraph?.stop();
    await traces?.shutdown();
  });

  it('runs from the gateway request through Kafka to the notification email', async () => {
    const { client } = supergraph;
    const admin = client.as((await client.data(LoginDocument, demo.admin)).login.accessToken);
    const sku = uniqueSku('traced');
    const { createProduct } = await admin.data(CreateProductDocument, {
      input: { name: 'Traced lamp', sku, price: '12.50', description: 'A lamp followed end to end' },
    });
    await admin.data(CreateInventoryDocument, {
      input: { productId: createProduct.id, sku, availableQuantity: 5, reorderLevel: 1, reorderQuantity: 5 },
    });
    const customer = client.as((await client.data(LoginDocument, demo.customer)).login.accessToken);
    await customer.data(AddCartItemDocument, { productId: createProduct.id, quantity: 1 });
    const { checkout } = await customer.data(CheckoutDocument, { input: { shippingAddress: address } });

    const spans = () => traces.spans();
    const gatewaySpan = spans().find(
      (span) =>
        span.kind === SpanKind.SERVER &&
        span.attributes[spanAttributes.service] === 'gateway' &&
        span.attributes['graphql.operation.name'] === 'Checkout',
    );
    if (!gatewaySpan) throw new Error('no gateway span for Checkout');
    const { traceId } = gatewaySpan.spanContext();
    const inTrace = () => spans().filter((span) => span.spanContext().traceId === traceId);
    const email = await waitFor(
      'the confirmation email span in the checkout trace',
      () =>
        inTrace().find(
          (span) =>
            span.name === 'send email' &&
            span.attributes[spanAttributes.emailTemplate] === 'ORDER_CONFIRMATION',
        ),
      { timeoutMs: 30_000 },
    );
    expect((await mailTo(supergraph, demo.customer.email)).map((mail) => mail.subject).join('\n')).toContain(
      checkout.id.slice(0, 8).toUpperCase(),
    );

    const trace = inTrace();
    const byId = new Map(trace.map((span) => [span.spanContext().spanId, span]));
    const ancestors = (span: ReadableSpan): ReadableSpan[] => {
      const parent = byId.get(parentOf(span) ?? '');
      return parent ? [parent, ...ancestors(parent)] : [];
    };

    // The gateway's request span is the root; Apollo's own spans (plan, execute, fetch) sit under it.
    expect(gatewaySpan.name).toBe('mutation Checkout');
    expect(parentOf(gatewaySpan)).toBeUndefined();
    const fetch = trace.find(
      (span) => span.kind === SpanKind.CLIENT && span.attributes[spanAttributes.subgraph] === 'orders',
    );
    if (!fetch) throw new Error('no fetch span to orders');
    expect(fetch.name).toBe('fetch orders');
    expect(ancestors(fetch)).toContain(gatewaySpan);

    // orders continued the traceparent the fetch sent.
    const operation = trace.find(
      (span) => span.kind === SpanKind.SERVER && span.attributes[spanAttributes.service] === 'orders',
    );
    if (!operation) throw new Error('no orders operation span');
    expect(parentOf(operation)).toBe(fetch.spanContext().spanId);
    expect(operation.attributes['graphql.operation.type']).toBe('mutation');

    // The outbox row kept the operation's context; the relay's PRODUCER span continues it.
    const publish = trace.find(
      (span) =>
        span.kind === SpanKind.PRODUCER && span.attributes[spanAttributes.eventType] === 'order.placed',
    );
    if (!publish) throw new Error('no publish span of order.placed');
    expect(publish.name).toBe('publish order.placed');
    expect(parentOf(publish)).toBe(operation.spanContext().spanId);

    // Every group that handles order.placed continues the message's headers; notifications among them.
    const consumers = trace.filter(
      (span) => span.kind === SpanKind.CONSUMER && parentOf(span) === publish.spanContext().spanId,
    );
    const groups = consumers.map((span) => span.attributes['messaging.consumer.group.name']);
    expect(groups).toContain('notifications');
    expect(groups.length).toBeGreaterThanOrEqual(3);
    for (const consumer of consumers) {
      expect(consumer.name).toBe('process order.placed');
      expect(consumer.attributes[spanAttributes.correlationId]).toEqual(expect.any(String));
    }
    const notificationsConsumer = consumers.find(
      (span) => span.attributes['messaging.consumer.group.name'] === 'notifications',
    );

    // The delivery job sent the email later, as a child of the handling that recorded it.
    expect(parentOf(email)).toBe(notificationsConsumer?.spanContext().spanId);
    expect(email.kind).toBe(SpanKind.CLIENT);
    expect(email.status.code).not.toBe(SpanStatusCode.ERROR);

    // Ids only as attributes, never in a span's name.
    expect(trace.filter((span) => UUID.test(span.name)).map((span) => span.name)).toEqual([]);
  });
});
