import {
  AddCartItemDocument,
  CheckoutDocument,
  CreateInventoryDocument,
  CreateProductDocument,
  LoginDocument,
  OrderDocument,
  OrderStatusChangedDocument,
  type ShopClient,
} from '@shop/client';
import { uniqueSku, waitFor } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { address, mailTo, payOrder, subscribeTyped } from './checkout-support';
import { demo, startTestSupergraph, type TestSupergraph } from './supergraph';

// Issue 15, metrics: one checkout (placed and paid) through the gateway, then every service's /metrics (on
// its own port, METRICS_PORT=0) shows the contract's series, moved by that checkout.

/** One sample of the Prometheus text format: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key as string] = value as string;
    }
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

async function scrape(url: string | undefined): Promise<Sample[]> {
  if (!url) throw new Error('no metrics URL: the metrics server did not start');
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  return parseSamples(await response.text());
}

/** The sum of a series' samples whose labels include `labels`. */
function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

function has(samples: Sample[], name: string): boolean {
  return samples.some((s) => s.name === name);
}

describe('Prometheus metrics of the gateway and every subgraph', () => {
  let supergraph: TestSupergraph;
  let customer: ShopClient;
  let customerToken: string;
  let orderId: string;
  let customerEmail: string;

  beforeAll(async () => {
    supergraph = await startTestSupergraph({
      env: { METRICS_PORT: '0' },
      gateway: { metricsServer: { port: 0, host: '127.0.0.1' } },
    });
    const { client } = supergraph;
    const admin = client.as((await client.data(LoginDocument, demo.admin)).login.accessToken);
    const login = (await client.data(LoginDocument, demo.customer)).login;
    customerToken = login.accessToken;
    customerEmail = demo.customer.email;
    customer = client.as(customerToken);
    const sku = uniqueSku('metrics');
    const { createProduct } = await admin.data(CreateProductDocument, {
      input: { name: 'Metrics mug', sku, price: '9.50' },
    });
    await admin.data(CreateInventoryDocument, {
      input: { productId: createProduct.id, sku, availableQuantity: 10 },
    });
    await customer.data(AddCartItemDocument, { productId: createProduct.id, quantity: 1 });
    orderId = (await customer.data(CheckoutDocument, { input: { shippingAddress: address } })).checkout.id;
    await payOrder(supergraph, customer, orderId);
    await waitFor(
      'the order paid',
      async () => (await customer.data(OrderDocument, { id: orderId })).order?.status === 'PAID',
      { timeoutMs: 30_000 },
    );
  }, 120_000);

  afterAll(async () => {
    await supergraph?.stop();
  });

  it('serves /metrics on a port of its own for each service, each series labelled with its service', async () => {
    const urls = [
      supergraph.gateway.metricsUrl,
      ...Object.values(supergraph.subgraphs).map((s) => s.metricsUrl),
    ];
    expect(new Set(urls).size).toBe(Object.keys(supergraph.subgraphs).length + 1);
    for (const [service, url] of [
      ['gateway', supergraph.gateway.metricsUrl],
      ...Object.entries(supergraph.subgraphs).map(([name, s]) => [name, s.metricsUrl]),
    ] as const) {
      const samples = await scrape(url);
      expect(
        samples.every((s) => s.labels.service === service),
        `${service}: service label`,
      ).toBe(true);
      expect(has(samples, 'process_cpu_seconds_total'), `${service}: process metrics`).toBe(true);
      expect(has(samples, 'nodejs_heap_size_used_bytes'), `${service}: heap metrics`).toBe(true);
    }
    // Not through the gateway's GraphQL port, which clients reach.
    const throughGateway = await fetch(new URL('/metrics', supergraph.gateway.url));
    expect(throughGateway.status).toBe(404);
    expect(await throughGateway.text()).not.toContain('shop_graphql_operations_total');
  });

  it('counts and times the gateway operations and its fetches from each subgraph used', async () => {
    // Just now through users: its keep-alive connection is open (idle ones close after a few seconds).
    await supergraph.client.data(LoginDocument, demo.customer);
    const samples = await scrape(supergraph.gateway.metricsUrl);
    for (const [name, type] of [
      ['Login', 'mutation'],
      ['Checkout', 'mutation'],
      ['CreatePaymentIntent', 'mutation'],
      ['PaymentByOrder', 'query'],
    ]) {
      const labels = { operation_name: name, operation_type: type } as Record<string, string>;
      expect(
        total(samples, 'shop_graphql_operations_total', { ...labels, outcome: 'ok' }),
        name,
      ).toBeGreaterThan(0);
      expect(total(samples, 'shop_graphql_operation_duration_seconds_count', labels), name).toBeGreaterThan(
        0,
      );
      expect(total(samples, 'shop_graphql_operation_duration_seconds_sum', labels), name).toBeGreaterThan(0);
    }
    for (const subgraph of ['users', 'products', 'inventory', 'cart', 'orders', 'payments']) {
      const fetches = { subgraph, outcome: 'ok' };
      expect(
        total(samples, 'shop_gateway_subgraph_fetch_duration_seconds_count', fetches),
        subgraph,
      ).toBeGreaterThan(0);
      expect(
        total(samples, 'shop_gateway_subgraph_fetch_duration_seconds_bucket', { ...fetches, le: '+Inf' }),
      ).toBe(total(samples, 'shop_gateway_subgraph_fetch_duration_seconds_count', fetches));
      // Every subgraph used has the gauge; idle keep-alive connections may have closed since.
      expect(
        samples.some((s) => s.name === 'shop_gateway_upstream_sockets' && s.labels.subgraph === subgraph),
        subgraph,
      ).toBe(true);
    }
    expect(total(samples, 'shop_gateway_upstream_sockets', { subgraph: 'users' })).toBeGreaterThanOrEqual(1);
    expect(has(samples, 'shop_subscriptions_active')).toBe(true);
  });

  it('counts the operations each subgraph served and the errors by code', async () => {
    const orders = await scrape(supergraph.subgraphs.orders?.metricsUrl);
    expect(
      total(orders, 'shop_graphql_operations_total', { operation_type: 'mutation', outcome: 'ok' }),
    ).toBeGreaterThan(0);
    const users = await scrape(supergraph.subgraphs.users?.metricsUrl);
    expect(total(users, 'shop_graphql_operations_total', { operation_type: 'mutation' })).toBeGreaterThan(0);

    // A refused operation: counted as an error, its code counted.
    const before = total(await scrape(supergraph.gateway.metricsUrl), 'shop_graphql_errors_total', {
      code: 'UNAUTHENTICATED',
    });
    const refused = await supergraph.client.request(OrderDocument, { id: orderId });
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const after = await scrape(supergraph.gateway.metricsUrl);
    expect(total(after, 'shop_graphql_errors_total', { code: 'UNAUTHENTICATED' })).toBe(before + 1);
    expect(
      total(after, 'shop_graphql_operations_total', { operation_name: 'Order', outcome: 'error' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('shows open subscriptions at the gateway and at the subgraph that streams them', async () => {
    const events = subscribeTyped(supergraph, OrderStatusChangedDocument, { orderId }, customerToken);
    try {
      await waitFor('the subscription open at the gateway and at orders', async () => {
        const gateway = await scrape(supergraph.gateway.metricsUrl);
        const orders = await scrape(supergraph.subgraphs.orders?.metricsUrl);
        return (
          total(gateway, 'shop_subscriptions_active') === 1 && total(orders, 'shop_subscriptions_active') >= 1
        );
      });
    } finally {
      await events.close();
    }
    await waitFor('the subscription closed at the gateway', async () => {
      return total(await scrape(supergraph.gateway.metricsUrl), 'shop_subscriptions_active') === 0;
    });
  });

  it('reports the events: published, consumed, outboxes drained, consumer lag back to 0', async () => {
    const orders = await scrape(supergraph.subgraphs.orders?.metricsUrl);
    expect(total(orders, 'shop_events_published_total', { topic: 'order.placed' })).toBeGreaterThanOrEqual(1);
    const inventory = await scrape(supergraph.subgraphs.inventory?.metricsUrl);
    expect(
      total(inventory, 'shop_events_consumed_total', { topic: 'order.placed', outcome: 'handled' }),
    ).toBeGreaterThanOrEqual(1);
    expect(has(inventory, 'shop_reservation_expiry_runs_total')).toBe(true);
    expect(has(inventory, 'shop_reservations_expired_total')).toBe(true);

    const withOutbox = ['orders', 'inventory', 'payments', 'notifications'];
    await waitFor(
      'every outbox drained and every consumer group at the end of its topics',
      async () => {
        for (const name of Object.keys(supergraph.subgraphs)) {
          const samples = await scrape(supergraph.subgraphs[name]?.metricsUrl);
          if (withOutbox.includes(name) && total(samples, 'shop_outbox_backlog') !== 0) return false;
          if (total(samples, 'shop_kafka_consumer_lag') !== 0) return false;
        }
        return true;
      },
      { timeoutMs: 30_000 },
    );
    for (const name of withOutbox) {
      const samples = await scrape(supergraph.subgraphs[name]?.metricsUrl);
      expect(has(samples, 'shop_outbox_backlog'), name).toBe(true);
      expect(total(samples, 'shop_outbox_oldest_unpublished_age_seconds'), name).toBe(0);
    }
    // Lag is reported per group and partition of the topics each group reads.
    const lag = inventory.filter((s) => s.name === 'shop_kafka_consumer_lag');
    expect(lag.length).toBeGreaterThan(0);
    expect(lag.every((s) => s.labels.group && s.labels.topic && /^\d+$/.test(s.labels.partition ?? ''))).toBe(
      true,
    );
  });

  it('counts the emails notifications sent', async () => {
    await waitFor(
      'the confirmation email',
      async () => (await mailTo(supergraph, customerEmail)).length > 0,
      {
        timeoutMs: 30_000,
      },
    );
    await waitFor('the email counted', async () => {
      const samples = await scrape(supergraph.subgraphs.notifications?.metricsUrl);
      return total(samples, 'shop_emails_sent_total') >= 1;
    });
  });

  it('never labels a series with an id', async () => {
    const idLike = /[0-9a-f]{8}-[0-9a-f]{4}-|[0-9a-f]{16,}|\d{6,}|@/i;
    for (const url of [
      supergraph.gateway.metricsUrl,
      ...Object.values(supergraph.subgraphs).map((s) => s.metricsUrl),
    ]) {
      const samples = await scrape(url);
      const offending = samples.filter(
        (s) =>
          !s.name.startsWith('nodejs_') &&
          !s.name.startsWith('process_') &&
          Object.entries(s.labels).some(([key, value]) => key !== 'le' && idLike.test(value)),
      );
      expect(offending, url).toEqual([]);
    }
  });
});
