import { randomUUID } from 'node:crypto';
import {
  AddCartItemDocument,
  AdjustStockDocument,
  CancelOrderDocument,
  CheckoutDocument,
  CreateInventoryDocument,
  CreatePaymentIntentDocument,
  CreateProductDocument,
  DeliverOrderDocument,
  LoginDocument,
  OrderDocument,
  PaymentByOrderDocument,
  PlaceOrderDocument,
  RefundPaymentDocument,
  RegisterDocument,
  ShipOrderDocument,
  type ShopClient,
} from '@shop/client';
import {
  consumerGroupLag,
  consumerGroupsOf,
  queryDatabase,
  replaySubgraphConsumers,
  type SubgraphReplay,
  snapshotDatabase,
  snapshotRedis,
  uniqueEmail,
  uniqueSku,
  unpublishedOutboxRows,
  waitFor,
} from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { address, confirmCard, mailbox } from './checkout-support';
import { demo, startTestSupergraph, type TestSupergraph } from './supergraph';

// The replay drill of issue 13: after a journey's worth of traffic (checkouts paid, shipped, delivered and
// refunded, a cancelled order, a declined card, low stock), every subgraph's consumers read every topic again
// from offset 0 under fresh consumer groups, against the same databases and Redis. Nothing may change: every
// table of every database, every Redis key and the mailbox are compared before and after.

type OrderStatus = NonNullable<Awaited<ReturnType<typeof orderOf>>>['status'];
let supergraph: TestSupergraph;
let customer: ShopClient;
let admin: ShopClient;

async function orderOf(id: string) {
  return (await customer.data(OrderDocument, { id })).order;
}

async function untilStatus(id: string, status: OrderStatus) {
  await waitFor(`order ${id} ${status}`, async () => (await orderOf(id))?.status === status);
}

async function paymentOf(orderId: string) {
  return waitFor(
    `the payment of ${orderId}`,
    async () => (await customer.data(PaymentByOrderDocument, { orderId })).paymentByOrder,
  );
}

async function pay(orderId: string, card: 'pm_card_visa' | 'pm_card_chargeDeclined' = 'pm_card_visa') {
  await paymentOf(orderId);
  const { createPaymentIntent } = await customer.data(CreatePaymentIntentDocument, {
    orderId,
    idempotencyKey: randomUUID(),
  });
  // Stripe answers a declined card with 402 card_error (and sends payment_intent.payment_failed).
  expect(await confirmCard(supergraph, createPaymentIntent.clientSecret, card)).toBe(
    card === 'pm_card_visa' ? 200 : 402,
  );
  return createPaymentIntent.payment.id;
}

/** Everything a replay could change: each database's tables, the Redis keys, the mailbox. */
async function snapshotEverything() {
  const databases: Record<string, Awaited<ReturnType<typeof snapshotDatabase>>> = {};
  for (const [name, subgraph] of Object.entries(supergraph.subgraphs)) {
    if (subgraph.database) databases[name] = await snapshotDatabase(subgraph.database.url);
  }
  const cart = supergraph.subgraphs.cart?.redis;
  return {
    databases,
    redis: cart ? await snapshotRedis(cart.redis) : {},
    emails: (await mailbox(supergraph)).length,
  };
}

/**
 * Every outbox published, every notification delivered, every consumer group of the subgraphs (replays
 * included, feeds aside) at the end of its topics: nothing is moving.
 */
async function untilSettled() {
  const { connection, prefix } = supergraph.kafka;
  await waitFor(
    'the supergraph to settle',
    async () => {
      for (const subgraph of Object.values(supergraph.subgraphs)) {
        if (subgraph.database && (await unpublishedOutboxRows(subgraph.database.url)) > 0) return false;
      }
      const notifications = supergraph.subgraphs.notifications?.database;
      if (notifications) {
        const [pending] = await queryDatabase<{ n: number }>(
          notifications.url,
          "SELECT count(*)::int AS n FROM notifications WHERE status = 'PENDING'",
        );
        if ((pending?.n ?? 0) > 0) return false;
      }
      for (const groupId of await consumerGroupsOf(connection, prefix)) {
        if ((await consumerGroupLag(connection, groupId)) > 0) return false;
      }
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
}

beforeAll(async () => {
  supergraph = await startTestSupergraph({ env: { NOTIFY_DELIVERY_INTERVAL_MS: '500' } });
});

afterAll(async () => {
  await supergraph?.stop();
});

describe('replay drill', () => {
  const sku = uniqueSku('replay');

  it('drives a journey of traffic through the gateway', async () => {
    // Traffic: the journey's shapes of order, through the gateway.
    const email = uniqueEmail('replay');
    const { client } = supergraph;
    await client.data(RegisterDocument, { input: { email, password: 'replay-password', name: 'Replay' } });
    customer = client.as(
      (await client.data(LoginDocument, { email, password: 'replay-password' })).login.accessToken,
    );
    admin = client.as((await client.data(LoginDocument, demo.admin)).login.accessToken);
    const { createProduct } = await admin.data(CreateProductDocument, {
      input: { name: 'Replayed lamp', sku, price: '12.00' },
    });
    const productId = createProduct.id;
    const { createInventory } = await admin.data(CreateInventoryDocument, {
      input: { productId, sku, availableQuantity: 30, reorderLevel: 20, reorderQuantity: 50 },
    });
    const line = (quantity: number) => ({ items: [{ productId, quantity }], shippingAddress: address });

    // 1. checkout from the cart, paid, shipped (captured), delivered, partly refunded
    await customer.data(AddCartItemDocument, { productId, quantity: 2 });
    const { checkout } = await customer.data(CheckoutDocument, { input: { shippingAddress: address } });
    const paymentId = await pay(checkout.id);
    await untilStatus(checkout.id, 'PAID');
    await admin.data(ShipOrderDocument, { id: checkout.id });
    await waitFor('the capture', async () => (await orderOf(checkout.id))?.paymentCaptured);
    await admin.data(DeliverOrderDocument, { id: checkout.id });
    await admin.data(RefundPaymentDocument, { paymentId, amount: '5.00', reason: 'scratched' });
    await waitFor('the refund', async () => (await orderOf(checkout.id))?.refundedAmount.amount === '5.00');
    // 2. paid, then cancelled by the customer (the authorisation released)
    const { placeOrder: paidThenCancelled } = await customer.data(PlaceOrderDocument, { input: line(1) });
    await pay(paidThenCancelled.id);
    await untilStatus(paidThenCancelled.id, 'PAID');
    await customer.data(CancelOrderDocument, { id: paidThenCancelled.id });
    // 3. cancelled while pending (the reservation released)
    const { placeOrder: pending } = await customer.data(PlaceOrderDocument, { input: line(3) });
    await waitFor('the reservation', async () => (await orderOf(pending.id))?.stockReserved);
    await customer.data(CancelOrderDocument, { id: pending.id });
    // 4. a declined card (payment failed: the order is cancelled)
    const { placeOrder: declined } = await customer.data(PlaceOrderDocument, { input: line(1) });
    await pay(declined.id, 'pm_card_chargeDeclined');
    await untilStatus(declined.id, 'CANCELLED');
    // 5. low stock, and back
    await admin.data(AdjustStockDocument, {
      inventoryId: createInventory.id,
      input: { quantity: -10, type: 'DAMAGE' },
    });
    await admin.data(AdjustStockDocument, {
      inventoryId: createInventory.id,
      input: { quantity: 10, type: 'PURCHASE' },
    });
    await untilStatus(pending.id, 'CANCELLED');
    await untilStatus(paidThenCancelled.id, 'CANCELLED');
  });

  it('consumes every topic again from offset 0 with fresh groups: nothing changes anywhere', async () => {
    await untilSettled();
    const before = await snapshotEverything();
    const groupsBefore = await consumerGroupsOf(supergraph.kafka.connection, supergraph.kafka.prefix);
    expect(groupsBefore.length).toBeGreaterThanOrEqual(5);

    const replays: SubgraphReplay[] = [];
    try {
      for (const subgraph of Object.values(supergraph.subgraphs)) {
        if (!subgraph.kafka) continue;
        const replay = await replaySubgraphConsumers(subgraph);
        replays.push(replay);
      }
      await waitFor(
        'every replay group at the end of its topics',
        async () => {
          for (const replay of replays) if ((await replay.lag()) > 0) return false;
          return true;
        },
        { timeoutMs: 40_000, intervalMs: 250 },
      );
      // Whatever a replayed handler might have written or published has been published and handled by now.
      await untilSettled();
      const after = await snapshotEverything();

      // Counts per group: events its handlers got again, and how many of them it had recorded as processed
      // (so the handler skipped them); the rest are events whose handler had nothing to do the first time
      // either (a product.changed for the cart, an order.placed without a cart).
      const groups = replays.flatMap((replay) => replay.groups);
      const replayed = groups.reduce((n, group) => n + group.eventIds.length, 0);
      const suppressed = groups.reduce((n, group) => n + group.duplicates, 0);
      console.info(
        `replay drill: ${replayed} events replayed, ${suppressed} duplicates suppressed, ` +
          `${replayed - suppressed} needed no work; emails ${before.emails} before, ${after.emails} after\n` +
          groups
            .map(
              (group) =>
                `  ${group.group}: ${group.eventIds.length} replayed, ${group.duplicates} suppressed ${JSON.stringify(group.byType)}`,
            )
            .join('\n'),
      );

      expect(replayed).toBeGreaterThan(20);
      // Every Postgres subgraph records each event it handles: all of theirs come back as duplicates.
      for (const group of groups.filter((g) => supergraph.subgraphs[g.subgraph]?.database)) {
        expect({ [group.group]: group.duplicates }).toEqual({ [group.group]: group.eventIds.length });
      }
      expect(suppressed).toBeGreaterThan(0);
      expect(after.emails).toBe(before.emails);
      // The stock equation on every row, and nothing left reserved (every order settled).
      const stock = await queryDatabase<{ sku: string; available: number; reserved: number; total: number }>(
        supergraph.subgraphs.inventory?.database?.url ?? '',
        `SELECT sku, available_quantity AS available, reserved_quantity AS reserved, total_quantity AS total
         FROM inventory`,
      );
      for (const row of stock) expect(row).toEqual({ ...row, reserved: 0, total: row.available });
      // 30 units, 2 delivered; the paid-then-cancelled order's unit went back to stock (a RETURN).
      expect(stock.find((row) => row.sku === sku)).toMatchObject({ available: 28, total: 28 });
      expect(after.redis).toEqual(before.redis);
      for (const [name, tables] of Object.entries(before.databases)) {
        expect({ [name]: after.databases[name] }).toEqual({ [name]: tables });
      }
    } finally {
      for (const replay of replays) await replay.stop();
    }
  });
});
