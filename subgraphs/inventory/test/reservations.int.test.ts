import { randomUUID } from 'node:crypto';
import { parseEnvelope } from '@shop/events';
import { sampleOrderPlaced, waitFor } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import { event, invariantViolations, useInventory } from './support';

// Orders reserve stock through `order.placed`; payments confirm or release it. Everything goes through the
// real Kafka topics (the test's own prefix) and the subgraph's own consumer group.

const inventory = useInventory();

function line(productId: string, quantity: number) {
  return { productId, sku: 'X', name: 'Line', quantity, unitPrice: { amount: '1.00', currency: 'USD' } };
}

function placed(orderId: string, lines: ReturnType<typeof line>[]) {
  return event('order.placed', sampleOrderPlaced({ orderId, items: lines }));
}

async function item(id: string) {
  return inventory.prisma.inventory.findUniqueOrThrow({ where: { id } });
}

async function reservationsOf(orderId: string) {
  return inventory.prisma.stockReservation.findMany({ where: { orderId }, orderBy: { inventoryId: 'asc' } });
}

/** Waits until the consumer has handled the event (its id is in processed_events). */
async function handled(...ids: string[]) {
  await waitFor(`events ${ids.join(', ')} handled`, async () => {
    const n = await inventory.prisma.processedEvent.count({ where: { eventId: { in: ids } } });
    return n === ids.length;
  });
}

const payment = (orderId: string) => ({
  paymentId: randomUUID(),
  orderId,
  userId: randomUUID(),
  amount: { amount: '1.00', currency: 'USD' },
});

describe('order.placed', () => {
  it('reserves every line for 15 minutes and publishes inventory.reserved, through Kafka', async () => {
    const kafka = inventory.kafka;
    if (!kafka) throw new Error('kafka');
    const topic = await kafka.readTopic(kafka.connection.topic('inventory.reserved'));
    const a = await inventory.createItem({ availableQuantity: 10 });
    const b = await inventory.createItem({ availableQuantity: 5 });
    const orderId = randomUUID();
    const before = Date.now();
    // The same product twice in one order counts once, summed.
    const e = placed(orderId, [line(a.product.id, 2), line(b.product.id, 5), line(a.product.id, 1)]);
    await inventory.publish(e);
    await handled(e.id);

    expect(await item(a.id)).toMatchObject({ availableQuantity: 7, reservedQuantity: 3, totalQuantity: 10 });
    expect(await item(b.id)).toMatchObject({ availableQuantity: 0, reservedQuantity: 5, totalQuantity: 5 });
    const reservations = await reservationsOf(orderId);
    expect(reservations).toHaveLength(2);
    for (const r of reservations) {
      expect(r.status).toBe('ACTIVE');
      const ttl = r.expiresAt.getTime() - before;
      expect(ttl).toBeGreaterThan(14.9 * 60_000);
      expect(ttl).toBeLessThan(15.5 * 60_000);
    }
    const message = await waitFor('inventory.reserved on Kafka', () =>
      topic.messages
        .map((m) => parseEnvelope(m.value))
        .find((m) => 'orderId' in m.data && m.data.orderId === orderId),
    );
    expect(message).toMatchObject({ source: 'inventory', correlationId: e.correlationId });
    expect(message.data).toMatchObject({
      orderId,
      reservations: expect.arrayContaining([
        { inventoryId: a.id, productId: a.product.id, quantity: 3 },
        { inventoryId: b.id, productId: b.product.id, quantity: 5 },
      ]),
    });
    const audit = await inventory.prisma.stockTransaction.findMany({ where: { reference: orderId } });
    expect(audit.map((t) => [t.type, t.quantity]).sort()).toEqual([
      ['RESERVATION', -3],
      ['RESERVATION', -5],
    ]);
    expect(await invariantViolations(inventory.prisma)).toEqual([]);
  });

  it('reserves nothing when one line falls short, and names the short products', async () => {
    const a = await inventory.createItem({ availableQuantity: 10 });
    const b = await inventory.createItem({ availableQuantity: 1 });
    const orderId = randomUUID();
    const e = placed(orderId, [line(a.product.id, 2), line(b.product.id, 2)]);
    await inventory.publish(e);
    await handled(e.id);

    expect(await item(a.id)).toMatchObject({ availableQuantity: 10, reservedQuantity: 0 });
    expect(await item(b.id)).toMatchObject({ availableQuantity: 1, reservedQuantity: 0 });
    expect(await reservationsOf(orderId)).toEqual([]);
    const failures = await inventory.published('inventory.reservation-failed');
    expect(failures.find((f) => f.orderId === orderId)).toEqual({
      orderId,
      reason: 'INSUFFICIENT_STOCK',
      productIds: [b.product.id],
    });
  });

  it('fails with UNKNOWN_PRODUCT for a product that has no inventory item', async () => {
    const a = await inventory.createItem({ availableQuantity: 10 });
    const ghost = randomUUID();
    const orderId = randomUUID();
    const e = placed(orderId, [line(a.product.id, 1), line(ghost, 1)]);
    await inventory.publish(e);
    await handled(e.id);
    expect(
      (await inventory.published('inventory.reservation-failed')).find((f) => f.orderId === orderId),
    ).toEqual({
      orderId,
      reason: 'UNKNOWN_PRODUCT',
      productIds: [ghost],
    });
    expect(await item(a.id)).toMatchObject({ availableQuantity: 10 });
  });

  it('contention: 200 concurrent orders for 50 units reserve exactly 50; every other order fails', async () => {
    const a = await inventory.createItem({ availableQuantity: 50, reorderLevel: 5 });
    const orders = Array.from({ length: 200 }, () => placed(randomUUID(), [line(a.product.id, 1)]));
    await inventory.publish(...orders);
    await handled(...orders.map((o) => o.id));

    expect(await item(a.id)).toMatchObject({ availableQuantity: 0, reservedQuantity: 50, totalQuantity: 50 });
    const orderIds = new Set(orders.map((o) => (o.data as { orderId: string }).orderId));
    const reservedOrders = (await inventory.published('inventory.reserved')).filter((r) =>
      orderIds.has(r.orderId),
    );
    const failedOrders = (await inventory.published('inventory.reservation-failed')).filter((f) =>
      orderIds.has(f.orderId),
    );
    expect(reservedOrders).toHaveLength(50);
    expect(failedOrders).toHaveLength(150);
    expect(new Set([...reservedOrders, ...failedOrders].map((o) => o.orderId)).size).toBe(200);
    for (const f of failedOrders)
      expect(f).toMatchObject({ reason: 'INSUFFICIENT_STOCK', productIds: [a.product.id] });
    // Low stock once for the whole dip, not once per order below the level.
    expect(
      (await inventory.published('inventory.low-stock')).filter((l) => l.inventoryId === a.id),
    ).toHaveLength(1);
    expect(await invariantViolations(inventory.prisma)).toEqual([]);
  });

  it('changes nothing on a duplicate delivery or a replay of the placement under a new event id', async () => {
    const a = await inventory.createItem({ availableQuantity: 10 });
    const orderId = randomUUID();
    const e = placed(orderId, [line(a.product.id, 4)]);
    const replay = { ...e, id: randomUUID() };
    await inventory.publish(e, e, replay);
    await handled(e.id, replay.id);
    expect(await item(a.id)).toMatchObject({ availableQuantity: 6, reservedQuantity: 4 });
    expect(
      (await inventory.published('inventory.reserved')).filter((r) => r.orderId === orderId),
    ).toHaveLength(1);
    expect(await inventory.prisma.stockTransaction.count({ where: { reference: orderId } })).toBe(1);
  });
});

describe('payments and cancellations', () => {
  async function reserve(quantity: number, available = 10) {
    const a = await inventory.createItem({ availableQuantity: available });
    const orderId = randomUUID();
    const e = placed(orderId, [line(a.product.id, quantity)]);
    await inventory.publish(e);
    await handled(e.id);
    return { a, orderId };
  }

  it('payment.authorized confirms: reserved and total down, a SALE, reservation COMPLETED; once', async () => {
    const { a, orderId } = await reserve(3);
    const paid = event('payment.authorized', payment(orderId), 'payments');
    await inventory.publish(paid, paid);
    await handled(paid.id);
    expect(await item(a.id)).toMatchObject({ availableQuantity: 7, reservedQuantity: 0, totalQuantity: 7 });
    const [reservation] = await reservationsOf(orderId);
    expect(reservation).toMatchObject({ status: 'COMPLETED', completedAt: expect.any(Date) });
    // Another payment event for the same order (a replay under a new id) sells nothing twice.
    const again = event('payment.authorized', payment(orderId), 'payments');
    await inventory.publish(again);
    await handled(again.id);
    expect(await item(a.id)).toMatchObject({ availableQuantity: 7, reservedQuantity: 0, totalQuantity: 7 });
    const sales = await inventory.prisma.stockTransaction.findMany({
      where: { reference: orderId, type: 'SALE' },
    });
    expect(sales.map((s) => s.quantity)).toEqual([-3]);
    expect(await invariantViolations(inventory.prisma)).toEqual([]);
  });

  it('payment.failed releases: available back, reservation CANCELLED, inventory.released PAYMENT_FAILED', async () => {
    const { a, orderId } = await reserve(4);
    const failed = event(
      'payment.failed',
      { ...payment(orderId), reason: 'card_declined' } as never,
      'payments',
    );
    await inventory.publish(failed);
    await handled(failed.id);
    expect(await item(a.id)).toMatchObject({ availableQuantity: 10, reservedQuantity: 0, totalQuantity: 10 });
    expect((await reservationsOf(orderId))[0]?.status).toBe('CANCELLED');
    expect((await inventory.published('inventory.released')).filter((r) => r.orderId === orderId)).toEqual([
      { orderId, reason: 'PAYMENT_FAILED' },
    ]);
  });

  it('order.cancelled releases with ORDER_CANCELLED; a payment after it is refused', async () => {
    const { a, orderId } = await reserve(2);
    const cancelled = event('order.cancelled', { orderId, userId: randomUUID(), reason: 'CUSTOMER_REQUEST' });
    await inventory.publish(cancelled);
    await handled(cancelled.id);
    expect(await item(a.id)).toMatchObject({ availableQuantity: 10, reservedQuantity: 0 });
    expect((await inventory.published('inventory.released')).filter((r) => r.orderId === orderId)).toEqual([
      { orderId, reason: 'ORDER_CANCELLED' },
    ]);
    const paid = event('payment.authorized', payment(orderId), 'payments');
    await inventory.publish(paid);
    await handled(paid.id);
    expect(await item(a.id)).toMatchObject({ availableQuantity: 10, totalQuantity: 10 });
    expect(
      (await inventory.published('inventory.reservation-failed')).filter((f) => f.orderId === orderId),
    ).toEqual([{ orderId, reason: 'ORDER_CANCELLED', productIds: [a.product.id] }]);
  });

  it('order.cancelled after the sale returns the sold units (a RETURN each), once', async () => {
    const { a, orderId } = await reserve(3);
    const paid = event('payment.authorized', payment(orderId), 'payments');
    await inventory.publish(paid);
    await handled(paid.id);
    expect(await item(a.id)).toMatchObject({ availableQuantity: 7, reservedQuantity: 0, totalQuantity: 7 });
    const cancelled = event('order.cancelled', { orderId, userId: randomUUID(), reason: 'CUSTOMER_REQUEST' });
    await inventory.publish(cancelled);
    await handled(cancelled.id);
    expect(await item(a.id)).toMatchObject({ availableQuantity: 10, reservedQuantity: 0, totalQuantity: 10 });
    expect((await reservationsOf(orderId))[0]?.status).toBe('CANCELLED');
    // Another cancellation of the order under a new id returns nothing more.
    const again = event('order.cancelled', { orderId, userId: randomUUID(), reason: 'ADMIN_REQUEST' });
    await inventory.publish(again);
    await handled(again.id);
    expect(await item(a.id)).toMatchObject({ availableQuantity: 10, totalQuantity: 10 });
    const returns = await inventory.prisma.stockTransaction.findMany({
      where: { reference: orderId, type: 'RETURN' },
    });
    expect(returns.map((r) => r.quantity)).toEqual([3]);
    expect(await invariantViolations(inventory.prisma)).toEqual([]);
  });

  it('a payment for an order whose placement failed publishes the failure again, so payments refunds', async () => {
    const a = await inventory.createItem({ availableQuantity: 1 });
    const orderId = randomUUID();
    const e = placed(orderId, [line(a.product.id, 2)]);
    await inventory.publish(e);
    await handled(e.id);
    const paid = event('payment.authorized', payment(orderId), 'payments');
    await inventory.publish(paid);
    await handled(paid.id);
    expect(
      (await inventory.published('inventory.reservation-failed')).filter((f) => f.orderId === orderId),
    ).toEqual([
      { orderId, reason: 'INSUFFICIENT_STOCK', productIds: [a.product.id] },
      { orderId, reason: 'INSUFFICIENT_STOCK', productIds: [] },
    ]);
    expect(await item(a.id)).toMatchObject({ availableQuantity: 1, totalQuantity: 1 });
  });

  it('a cancel that overtakes its placement is remembered: the late placement reserves nothing', async () => {
    const a = await inventory.createItem({ availableQuantity: 10 });
    const orderId = randomUUID();
    const cancelled = event('order.cancelled', { orderId, userId: randomUUID(), reason: 'CUSTOMER_REQUEST' });
    await inventory.publish(cancelled);
    await handled(cancelled.id);
    const late = placed(orderId, [line(a.product.id, 5)]);
    await inventory.publish(late);
    await handled(late.id);
    expect(await item(a.id)).toMatchObject({ availableQuantity: 10, reservedQuantity: 0 });
    expect(await reservationsOf(orderId)).toEqual([]);
    expect((await inventory.published('inventory.reserved')).filter((r) => r.orderId === orderId)).toEqual(
      [],
    );
  });

  it('a payment that overtakes its placement is remembered: the placement then sells at once', async () => {
    const a = await inventory.createItem({ availableQuantity: 10 });
    const orderId = randomUUID();
    const paid = event('payment.authorized', payment(orderId), 'payments');
    await inventory.publish(paid);
    await handled(paid.id);
    const late = placed(orderId, [line(a.product.id, 2)]);
    await inventory.publish(late);
    await handled(late.id);
    expect(await item(a.id)).toMatchObject({ availableQuantity: 8, reservedQuantity: 0, totalQuantity: 8 });
    expect((await reservationsOf(orderId))[0]?.status).toBe('COMPLETED');
    expect(await invariantViolations(inventory.prisma)).toEqual([]);
  });
});
