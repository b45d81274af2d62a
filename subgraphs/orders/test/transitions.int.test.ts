import { randomUUID } from 'node:crypto';
import { waitFor } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import {
  type Caller,
  codes,
  eventsOf,
  historyOf,
  type OrderJson,
  outboxCount,
  placeOrder,
  processed,
  useOrders,
} from './support';

// Every transition of the state machine, driven the way production drives it: inventory and payment events
// on the real broker, and the admin/customer mutations. The history table must say exactly what happened.

const harness = useOrders();

const CANCEL = 'mutation C($id: ID!) { cancelOrder(id: $id) { id status cancellationReason } }';
const SHIP = 'mutation S($id: ID!) { shipOrder(id: $id) { id status } }';
const DELIVER = 'mutation D($id: ID!) { deliverOrder(id: $id) { id status } }';

async function newOrder(customer?: Caller): Promise<{ order: OrderJson; customer: Caller }> {
  const owner = customer ?? (await harness.customer());
  const product = await harness.product('12.50');
  const order = await placeOrder(harness, owner, [{ productId: product.id, quantity: 2 }]);
  return { order, customer: owner };
}

const money = { amount: '25.00', currency: 'USD' };
const ev = {
  reserved: (order: OrderJson) =>
    harness.publish('inventory.reserved', {
      orderId: order.id,
      reservations: [
        { inventoryId: randomUUID(), productId: order.items[0]?.product.id ?? randomUUID(), quantity: 2 },
      ],
      expiresAt: new Date(Date.now() + 900_000).toISOString(),
    }),
  reservationFailed: (order: OrderJson) =>
    harness.publish('inventory.reservation-failed', {
      orderId: order.id,
      reason: 'INSUFFICIENT_STOCK',
      productIds: [order.items[0]?.product.id ?? randomUUID()],
    }),
  released: (order: OrderJson, reason: 'PAYMENT_FAILED' | 'ORDER_CANCELLED' | 'EXPIRED') =>
    harness.publish('inventory.released', { orderId: order.id, reason }),
  authorized: (order: OrderJson, times = 1) =>
    harness.publish(
      'payment.authorized',
      { paymentId: randomUUID(), orderId: order.id, userId: order.user.id, amount: money },
      times,
    ),
  captured: (order: OrderJson) =>
    harness.publish('payment.captured', {
      paymentId: randomUUID(),
      orderId: order.id,
      userId: order.user.id,
      amount: money,
    }),
  failed: (order: OrderJson) =>
    harness.publish('payment.failed', {
      paymentId: randomUUID(),
      orderId: order.id,
      userId: order.user.id,
      reason: 'card_declined',
    }),
  refunded: (order: OrderJson, amount: string) =>
    harness.publish('payment.refunded', {
      paymentId: randomUUID(),
      orderId: order.id,
      userId: order.user.id,
      amount: { amount, currency: 'USD' },
      restock: false,
    }),
};

async function statusOf(orderId: string): Promise<string | undefined> {
  return (await harness.prisma.order.findUnique({ where: { id: orderId } }))?.status;
}

async function reachStatus(orderId: string, status: string): Promise<void> {
  await waitFor(`order ${orderId} ${status}`, async () => (await statusOf(orderId)) === status);
}

const placed = '->PENDING:@placeOrder';
const paid = 'PENDING>PAID:STOCK_RESERVED_AND_PAYMENT_AUTHORIZED';

async function paidOrder() {
  const made = await newOrder();
  await ev.reserved(made.order);
  await ev.authorized(made.order);
  await reachStatus(made.order.id, 'PAID');
  return made;
}

describe('orders moved by inventory and payment events', () => {
  it('is PAID once the stock is reserved and the payment authorized, and publishes the change', async () => {
    const changes = await harness.readTopic('order.status-changed');
    const { order } = await newOrder();
    const reserved = await ev.reserved(order);
    await processed(harness, reserved);
    expect(await statusOf(order.id)).toBe('PENDING');
    const authorized = await ev.authorized(order);
    await reachStatus(order.id, 'PAID');
    expect(await historyOf(harness, order.id)).toEqual([placed, `${paid}@payment.authorized`]);
    const row = await harness.prisma.orderStatusHistory.findFirst({
      where: { orderId: order.id, toStatus: 'PAID' },
    });
    expect(row?.sourceEventId).toBe(authorized);
    await waitFor('order.status-changed', () => eventsOf(changes, order.id).length > 0);
    expect(eventsOf(changes, order.id).map((event) => event.data)).toEqual([
      {
        orderId: order.id,
        userId: order.user.id,
        from: 'PENDING',
        to: 'PAID',
        reason: 'STOCK_RESERVED_AND_PAYMENT_AUTHORIZED',
      },
    ]);
  });

  it('ends PAID when payment.authorized arrives before inventory.reserved', async () => {
    const { order } = await newOrder();
    await processed(harness, await ev.authorized(order));
    expect(await statusOf(order.id)).toBe('PENDING');
    await ev.reserved(order);
    await reachStatus(order.id, 'PAID');
    expect(await historyOf(harness, order.id)).toEqual([placed, `${paid}@inventory.reserved`]);
  });

  it('goes PENDING → PAID → PROCESSING when the capture is read before the reservation', async () => {
    const { order } = await newOrder();
    await processed(harness, await ev.captured(order));
    expect(await statusOf(order.id)).toBe('PENDING');
    await ev.reserved(order);
    await reachStatus(order.id, 'PROCESSING');
    expect(await historyOf(harness, order.id)).toEqual([
      placed,
      `${paid}@inventory.reserved`,
      'PAID>PROCESSING:PAYMENT_CAPTURED@inventory.reserved',
    ]);
  });

  it('changes nothing for a redelivered event or a second event saying the same', async () => {
    const changes = await harness.readTopic('order.status-changed');
    const { order } = await newOrder();
    await processed(harness, await ev.reserved(order));
    // The very same envelope three times, then another authorization.
    const first = await ev.authorized(order, 3);
    await reachStatus(order.id, 'PAID');
    await processed(harness, await ev.authorized(order));
    await processed(harness, await ev.reserved(order));
    expect(await historyOf(harness, order.id)).toEqual([placed, `${paid}@payment.authorized`]);
    const claims = await harness.prisma.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM processed_events WHERE event_id = ${first}::uuid`;
    expect(claims[0]?.n).toBe(1);
    await waitFor('status change', () => eventsOf(changes, order.id).length > 0);
    expect(eventsOf(changes, order.id)).toHaveLength(1);
  });

  it('cancels for OUT_OF_STOCK, publishes order.cancelled, and ignores later news', async () => {
    const cancelled = await harness.readTopic('order.cancelled');
    const { order } = await newOrder();
    await ev.reservationFailed(order);
    await reachStatus(order.id, 'CANCELLED');
    await processed(harness, await ev.authorized(order));
    await processed(harness, await ev.reserved(order));
    expect(await statusOf(order.id)).toBe('CANCELLED');
    expect(await historyOf(harness, order.id)).toEqual([
      placed,
      'PENDING>CANCELLED:OUT_OF_STOCK@inventory.reservation-failed',
    ]);
    await waitFor('order.cancelled', () => eventsOf(cancelled, order.id).length > 0);
    expect(eventsOf(cancelled, order.id).map((event) => event.data)).toEqual([
      { orderId: order.id, userId: order.user.id, reason: 'OUT_OF_STOCK' },
    ]);
    const row = await harness.prisma.order.findUnique({ where: { id: order.id } });
    expect(row?.cancellationReason).toBe('OUT_OF_STOCK');
  });

  it('cancels for PAYMENT_FAILED (payment.failed or the release after it) and RESERVATION_EXPIRED', async () => {
    const a = (await newOrder()).order;
    await ev.failed(a);
    await reachStatus(a.id, 'CANCELLED');
    await processed(harness, await ev.released(a, 'PAYMENT_FAILED'));
    expect(await historyOf(harness, a.id)).toEqual([
      placed,
      'PENDING>CANCELLED:PAYMENT_FAILED@payment.failed',
    ]);

    // The release is read before payment.failed: the same end.
    const b = (await newOrder()).order;
    await ev.released(b, 'PAYMENT_FAILED');
    await reachStatus(b.id, 'CANCELLED');
    await processed(harness, await ev.failed(b));
    expect(await historyOf(harness, b.id)).toEqual([
      placed,
      'PENDING>CANCELLED:PAYMENT_FAILED@inventory.released',
    ]);

    const c = (await newOrder()).order;
    await ev.reserved(c);
    await ev.released(c, 'EXPIRED');
    await reachStatus(c.id, 'CANCELLED');
    expect(await historyOf(harness, c.id)).toEqual([
      placed,
      'PENDING>CANCELLED:RESERVATION_EXPIRED@inventory.released',
    ]);
    // An expiry read after the authorization arrived: the paid order cannot ship, it is cancelled.
    const { order: d } = await paidOrder();
    await ev.released(d, 'EXPIRED');
    await reachStatus(d.id, 'CANCELLED');
    expect((await historyOf(harness, d.id)).at(-1)).toBe(
      'PAID>CANCELLED:RESERVATION_EXPIRED@inventory.released',
    );
  });

  it('walks PAID → PROCESSING → SHIPPED → DELIVERED → REFUNDED, a partial refund first changing no state', async () => {
    const shipped = await harness.readTopic('order.shipped');
    const { order } = await paidOrder();
    await ev.captured(order);
    await reachStatus(order.id, 'PROCESSING');
    expect(await harness.post(SHIP, { id: order.id }, harness.admin)).toMatchObject({
      data: { shipOrder: { status: 'SHIPPED' } },
    });
    expect(await harness.post(DELIVER, { id: order.id }, harness.admin)).toMatchObject({
      data: { deliverOrder: { status: 'DELIVERED' } },
    });
    await processed(harness, await ev.refunded(order, '10.00'));
    expect(await statusOf(order.id)).toBe('DELIVERED');
    await ev.refunded(order, '15.00');
    await reachStatus(order.id, 'REFUNDED');
    expect(await historyOf(harness, order.id)).toEqual([
      placed,
      `${paid}@payment.authorized`,
      'PAID>PROCESSING:PAYMENT_CAPTURED@payment.captured',
      'PROCESSING>SHIPPED:SHIPPED@shipOrder',
      'SHIPPED>DELIVERED:DELIVERED@deliverOrder',
      'DELIVERED>REFUNDED:PAYMENT_REFUNDED@payment.refunded',
    ]);
    const row = await harness.prisma.order.findUnique({ where: { id: order.id } });
    expect(row?.refundedAmount.toFixed(2)).toBe('25.00');
    await waitFor('order.shipped', () => eventsOf(shipped, order.id).length > 0);
    expect(eventsOf(shipped, order.id).map((event) => event.data)).toEqual([
      { orderId: order.id, userId: order.user.id },
    ]);
  });

  it('ships straight from PAID', async () => {
    const { order } = await paidOrder();
    expect(await harness.post(SHIP, { id: order.id }, harness.admin)).toMatchObject({
      data: { shipOrder: { status: 'SHIPPED' } },
    });
    expect((await historyOf(harness, order.id)).at(-1)).toBe('PAID>SHIPPED:SHIPPED@shipOrder');
  });
});

describe('cancelOrder', () => {
  it('lets the owner cancel a pending or paid order (CUSTOMER_REQUEST) and an admin anyone’s (ADMIN_REQUEST)', async () => {
    const { order, customer } = await newOrder();
    expect(await harness.post(CANCEL, { id: order.id }, customer)).toMatchObject({
      data: { cancelOrder: { status: 'CANCELLED', cancellationReason: 'CUSTOMER_REQUEST' } },
    });
    const { order: paidOne, customer: other } = await paidOrder();
    expect(await harness.post(CANCEL, { id: paidOne.id }, harness.admin)).toMatchObject({
      data: { cancelOrder: { status: 'CANCELLED', cancellationReason: 'ADMIN_REQUEST' } },
    });
    expect(await historyOf(harness, paidOne.id)).toEqual([
      placed,
      `${paid}@payment.authorized`,
      'PAID>CANCELLED:ADMIN_REQUEST@cancelOrder',
    ]);
    const row = await harness.prisma.orderStatusHistory.findFirst({
      where: { orderId: order.id, toStatus: 'CANCELLED' },
    });
    expect(row?.actorId).toBe(customer.viewer.userId);
    expect(other.viewer.userId).not.toBe(customer.viewer.userId);
  });
});

describe('refused transitions', () => {
  it('answers CONFLICT, changes nothing and publishes nothing', async () => {
    const pending = (await newOrder()).order;
    const { order: paidOne, customer } = await paidOrder();
    await harness.post(SHIP, { id: paidOne.id }, harness.admin);
    const cancelled = await newOrder();
    await harness.post(CANCEL, { id: cancelled.order.id }, cancelled.customer);

    const before = await outboxCount(harness.prisma);
    const histories = await Promise.all(
      [pending.id, paidOne.id, cancelled.order.id].map((id) => historyOf(harness, id)),
    );
    const refusals = [
      await harness.post(SHIP, { id: pending.id }, harness.admin),
      await harness.post(DELIVER, { id: pending.id }, harness.admin),
      await harness.post(CANCEL, { id: paidOne.id }, customer), // SHIPPED now
      await harness.post(CANCEL, { id: paidOne.id }, harness.admin),
      await harness.post(SHIP, { id: paidOne.id }, harness.admin),
      await harness.post(CANCEL, { id: cancelled.order.id }, cancelled.customer),
      await harness.post(SHIP, { id: cancelled.order.id }, harness.admin),
    ];
    for (const refusal of refusals) expect(codes(refusal)).toEqual(['CONFLICT']);
    expect(refusals[0]?.errors?.[0]?.extensions).toMatchObject({ status: 'PENDING' });

    expect(await outboxCount(harness.prisma)).toBe(before);
    expect(
      await Promise.all([pending.id, paidOne.id, cancelled.order.id].map((id) => historyOf(harness, id))),
    ).toEqual(histories);
  });

  it('serialises concurrent commands on one order: one of cancel and ship wins, the other is CONFLICT', async () => {
    const { order, customer } = await paidOrder();
    const [cancel, ship] = await Promise.all([
      harness.post(CANCEL, { id: order.id }, customer),
      harness.post(SHIP, { id: order.id }, harness.admin),
    ]);
    const outcomes = [codes(cancel), codes(ship)].map((list) => list.join(','));
    expect(outcomes.sort()).toEqual(['', 'CONFLICT']);
    const history = await historyOf(harness, order.id);
    expect(history).toHaveLength(3);
    expect(history.at(-1)).toMatch(/^PAID>(CANCELLED|SHIPPED):/);
  });

  it('keeps ship and deliver for admins, and unknown orders NOT_FOUND', async () => {
    const { order, customer } = await paidOrder();
    expect(codes(await harness.post(SHIP, { id: order.id }, customer))).toEqual(['FORBIDDEN']);
    expect(codes(await harness.post(DELIVER, { id: order.id }, customer))).toEqual(['FORBIDDEN']);
    expect(codes(await harness.post(SHIP, { id: randomUUID() }, harness.admin))).toEqual(['NOT_FOUND']);
    expect(codes(await harness.post(CANCEL, { id: 'nope' }, customer))).toEqual(['BAD_USER_INPUT']);
  });
});
