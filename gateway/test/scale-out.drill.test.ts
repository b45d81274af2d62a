import { randomUUID } from 'node:crypto';
import {
  AddCartItemDocument,
  CheckoutDocument,
  CreateInventoryDocument,
  CreateProductDocument,
  LoginDocument,
  OrderStatusChangedDocument,
  RegisterDocument,
  ShopClient,
} from '@shop/client';
import { queryDatabase, subscribeOverWs, testLogger, unpublishedOutboxRows, waitFor } from '@shop/testing';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeSupergraph } from '../src/compose';
import { type RunningGateway, startGateway } from '../src/gateway';
import { PROBE_SOURCE, payOrder, stockEquationProblems, untilFeedDelivers } from './checkout-support';
import { type DrillStack, startDrillStack } from './drill-stack';
import { demo } from './supergraph';

// Scale-out drill: two processes of every subgraph (same databases, topics and Redis) and two gateways, gateway
// A in front of the first instances and gateway B in front of the second. Checkouts go through both; some are
// paid, the others left for the reservation-expiry job (running in both inventory instances). Then: every event
// was published once (no event id twice in Kafka, as many messages as outbox rows), each reservation expired
// once, the stock equation holds, and a subscriber on each gateway saw the order's change once.

const address = { street: '2 Scale St', city: 'Boston', state: 'MA', zipCode: '02101', country: 'US' };
const INITIAL_STOCK = 1000;

describe('scale-out drill: two instances of every subgraph, two gateways', () => {
  let stack: DrillStack;
  let second: RunningGateway;
  let admin: ShopClient;
  const productIds: string[] = [];

  beforeAll(async () => {
    stack = await startDrillStack({
      instances: 2,
      env: { inventory: { RESERVATION_TTL_SECONDS: '15', RESERVATION_EXPIRY_INTERVAL_MS: '500' } },
    });
    const { supergraphSdl } = await composeSupergraph(
      Object.fromEntries(Object.entries(stack.replicas).map(([name, s]) => [name, s.url])),
    );
    second = await startGateway({
      supergraphSdl,
      port: 0,
      host: '127.0.0.1',
      tokenVerifier: stack.keys.verifier,
      logger: testLogger('drill-gateway-b'),
    });
    const login = await stack.client.data(LoginDocument, demo.admin);
    admin = stack.client.as(login.login.accessToken);
    for (let i = 0; i < 2; i += 1) {
      const sku = `SCALE-${i}-${randomUUID().slice(0, 8)}`;
      const { createProduct } = await admin.data(CreateProductDocument, {
        input: { name: `Scale product ${i}`, sku, price: '5.00' },
      });
      await admin.data(CreateInventoryDocument, {
        input: {
          productId: createProduct.id,
          sku: `${sku}-INV`,
          availableQuantity: INITIAL_STOCK,
          reorderLevel: 1,
          reorderQuantity: 1,
        },
      });
      productIds.push(createProduct.id);
    }
  });

  afterAll(async () => {
    await second?.stop();
    await stack?.stop();
  });

  it('publishes each event once, expires each reservation once, and each gateway subscriber sees each change once', async () => {
    const gateways = [stack.gateway, second];
    const email = `scale-${randomUUID().slice(0, 8)}@example.com`;
    const { register } = await stack.client.data(RegisterDocument, {
      input: { email, password: `Scale-${randomUUID()}`, name: 'Scale customer' },
    });
    const token = register.accessToken;
    const clients = gateways.map((gateway) => new ShopClient(gateway.url).as(token));

    // Twelve checkouts alternating between the gateways; every other one is paid, the rest expire.
    const paid: string[] = [];
    const expiring: string[] = [];
    for (let i = 0; i < 12; i += 1) {
      const client = clients[i % 2] as ShopClient;
      await client.data(AddCartItemDocument, {
        productId: productIds[i % 2] as string,
        quantity: 1 + (i % 3),
      });
      const { checkout } = await client.data(CheckoutDocument, { input: { shippingAddress: address } });
      if (i % 2 === 0) {
        expiring.push(checkout.id);
        continue;
      }
      paid.push(checkout.id);
      // The last paid order is watched from both gateways before it is paid.
      if (i === 11) break;
      await payOrder(stack, client, checkout.id);
    }
    const watched = paid.at(-1) as string;
    const subscribers = gateways.map((gateway) =>
      subscribeOverWs(gateway.wsUrl, print(OrderStatusChangedDocument), { orderId: watched }, token),
    );
    // The subscriptions reach their feeds at moments the client cannot see: probe until both have seen one.
    await untilFeedDelivers(
      stack,
      'order.status-changed',
      { orderId: watched, userId: register.user.id, from: 'PENDING', to: 'PENDING', reason: 'PROBE' },
      () => subscribers.every((s) => s.values.length > 0),
    );
    await payOrder(stack, clients[1] as ShopClient, watched);

    // Settle: paid orders PAID, the others CANCELLED by expiry; outboxes drained.
    const ordersDb = stack.subgraphs.orders?.database?.url as string;
    const inventoryDb = stack.subgraphs.inventory?.database?.url as string;
    await waitFor(
      'every order settled',
      async () => {
        const rows = await queryDatabase<{ id: string; status: string }>(
          ordersDb,
          'SELECT id, status::text FROM orders',
        );
        const status = new Map(rows.map((r) => [r.id, r.status]));
        return (
          paid.every((id) => status.get(id) === 'PAID') &&
          expiring.every((id) => status.get(id) === 'CANCELLED')
        );
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    const databases = [...Object.values(stack.subgraphs)].flatMap((s) =>
      s.database ? [s.database.url] : [],
    );
    await waitFor(
      'every outbox drained',
      async () => {
        for (const url of databases) if ((await unpublishedOutboxRows(url)) > 0) return false;
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );

    // Each reservation expired once: one EXPIRED release per expired order, each reservation EXPIRED.
    const released = await stack.kafka.readTopic(stack.kafka.connection.topic('inventory.released'));
    await waitFor('the releases read', () => released.messages.length >= expiring.length);
    const expiredReleases = released.messages
      .map((m) => JSON.parse(String(m.value)) as { data: { orderId: string; reason: string } })
      .filter((e) => e.data.reason === 'EXPIRED')
      .map((e) => e.data.orderId);
    expect([...expiredReleases].sort()).toEqual([...expiring].sort());
    const reservations = await queryDatabase<{ status: string; n: number }>(
      inventoryDb,
      `SELECT status::text, count(*)::int AS n FROM stock_reservations GROUP BY status`,
    );
    expect(Object.fromEntries(reservations.map((r) => [r.status, r.n]))).toMatchObject({
      EXPIRED: expiring.length,
    });

    // The stock equation: what left the shelf is what the PAID orders hold; nothing stays reserved.
    expect(
      await stockEquationProblems({ ordersDb, inventoryDb, productIds, initial: INITIAL_STOCK }),
    ).toEqual([]);

    // Each event published once: across every topic, no event id twice, and as many messages as outbox rows.
    const outboxRows = (
      await Promise.all(
        databases.map(
          async (url) =>
            (await queryDatabase<{ n: number }>(url, 'SELECT count(*)::int AS n FROM outbox_events'))[0]?.n ??
            0,
        ),
      )
    ).reduce((a, b) => a + b, 0);
    const admin = stack.kafka.connection.kafka.admin();
    await admin.connect();
    const topics = (await admin.listTopics()).filter(
      (t) => t.startsWith(stack.kafka.prefix) && !t.slice(stack.kafka.prefix.length).startsWith('dlq.'),
    );
    await admin.disconnect();
    const ids: string[] = [];
    for (const topic of topics) {
      const reader = await stack.kafka.readTopic(topic);
      // Topics are read from the start; a short quiet period means the reader has caught up.
      let last = -1;
      await waitFor(
        `${topic} read to the end`,
        async () => {
          const now = reader.messages.length;
          const quiet = now === last;
          last = now;
          return quiet;
        },
        { intervalMs: 1000 },
      );
      for (const m of reader.messages) {
        const { id, source } = JSON.parse(String(m.value)) as { id: string; source: string };
        if (source !== PROBE_SOURCE) ids.push(id);
      }
    }
    expect(ids.length - new Set(ids).size).toBe(0);
    expect(ids.length).toBe(outboxRows);

    // Each gateway's subscriber saw PENDING → PAID once.
    for (const subscriber of subscribers) {
      await waitFor('the change over the websocket', () =>
        subscriber.values.some((v) => JSON.stringify(v).includes('"PAID"')),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    for (const subscriber of subscribers) {
      const changes = subscriber.values.filter((v) => JSON.stringify(v).includes('"to":"PAID"'));
      expect(changes).toHaveLength(1);
      await subscriber.close();
    }
    console.log(
      `[drill] scale-out: ${paid.length} orders paid and ${expiring.length} expired through two gateways and two instances of every subgraph; ${ids.length} events published once each (${outboxRows} outbox rows), ${expiredReleases.length} expiry releases, stock equation holds, each gateway subscriber saw PAID once`,
    );
  });
});
