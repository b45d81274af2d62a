import { randomUUID } from 'node:crypto';
import { sampleOrderPlaced, waitFor } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import {
  BY_ORDER,
  CAPTURE,
  CREATE_INTENT,
  type Customer,
  codes,
  type IntentResponse,
  intentIdOf,
  type PaymentJson,
  REFUND,
  usePayments,
} from './support';

const payments = usePayments();

/** An order placed by a fresh customer, its PENDING payment created from `order.placed`. */
async function placedOrder(total = '19.98'): Promise<{ orderId: string; customer: Customer }> {
  const customer = await payments.customer();
  const orderId = randomUUID();
  await payments.publish(
    'order.placed',
    sampleOrderPlaced({
      orderId,
      userId: customer.userId,
      userEmail: customer.email,
      total: { amount: total, currency: 'USD' },
    }),
  );
  await payments.paymentOf(orderId);
  return { orderId, customer };
}

async function pay(orderId: string, customer: Customer, key: string = randomUUID()) {
  const response = (await payments.graphql(
    CREATE_INTENT,
    { orderId, key },
    customer.token,
  )) as IntentResponse;
  expect(response.errors).toBeUndefined();
  return response.data?.createPaymentIntent as { clientSecret: string; payment: PaymentJson };
}

/** Placed, paid with pm_card_visa at the local Stripe server, and AUTHORIZED through its webhook. */
async function authorisedOrder(total = '19.98') {
  const { orderId, customer } = await placedOrder(total);
  const intent = await pay(orderId, customer);
  await payments.stripe.paymentIntents.confirm(intentIdOf(intent.clientSecret), {
    payment_method: 'pm_card_visa',
  });
  const payment = await payments.paymentOf(orderId, (p) => p.status === 'AUTHORIZED');
  return { orderId, customer, paymentId: payment.id, intentId: intentIdOf(intent.clientSecret) };
}

describe('order.placed → a PENDING payment', () => {
  it("is created for the order's server-side total, once however often the event arrives", async () => {
    const customer = await payments.customer();
    const orderId = randomUUID();
    const data = sampleOrderPlaced({
      orderId,
      userId: customer.userId,
      total: { amount: '123.45', currency: 'USD' },
    });
    await payments.publish('order.placed', data);
    await payments.publish('order.placed', data);
    const payment = await payments.paymentOf(orderId);
    expect(payment).toMatchObject({ status: 'PENDING', userId: customer.userId, currency: 'USD' });
    expect(payment.amount.toFixed(2)).toBe('123.45');

    const read = await payments.graphql<{ paymentByOrder: PaymentJson }>(
      BY_ORDER,
      { orderId },
      customer.token,
    );
    expect(read.data?.paymentByOrder).toMatchObject({
      status: 'PENDING',
      amount: { amount: '123.45', currency: 'USD' },
      order: { id: orderId },
      statusHistory: [{ from: null, status: 'PENDING', source: 'EVENT' }],
    });
    expect(await payments.prisma.payment.count({ where: { orderId } })).toBe(1);
  });
});

describe('createPaymentIntent', () => {
  it('happy path to CAPTURED: intent (manual capture, order in metadata) → card → AUTHORIZED → capture', async () => {
    const { orderId, customer } = await placedOrder('19.98');
    const { clientSecret, payment } = await pay(orderId, customer);
    expect(clientSecret).toMatch(/^pi_\w+_secret_\w+$/);
    expect(payment.status).toBe('PENDING');

    const intent = await payments.stripe.paymentIntents.retrieve(intentIdOf(clientSecret));
    expect(intent).toMatchObject({
      amount: 1998,
      currency: 'usd',
      capture_method: 'manual',
      metadata: { order_id: orderId, payment_id: payment.id },
    });

    await payments.stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' });
    await payments.paymentOf(orderId, (p) => p.status === 'AUTHORIZED');
    expect(await payments.published('payment.authorized', orderId)).toEqual([
      {
        paymentId: payment.id,
        orderId,
        userId: customer.userId,
        amount: { amount: '19.98', currency: 'USD' },
      },
    ]);

    const captured = await payments.graphql<{ capturePayment: PaymentJson }>(
      CAPTURE,
      { id: payment.id },
      payments.adminToken,
    );
    expect(captured.errors).toBeUndefined();
    expect(captured.data?.capturePayment).toMatchObject({
      status: 'CAPTURED',
      capturedAmount: { amount: '19.98', currency: 'USD' },
    });
    expect((await payments.stripe.paymentIntents.retrieve(intent.id)).status).toBe('succeeded');
    expect(await payments.published('payment.captured', orderId)).toHaveLength(1);

    // The capture's own webhook arrives too; it changes nothing.
    await waitFor('the succeeded webhook', () =>
      payments.prisma.stripeWebhookEvent.findFirst({
        where: { objectId: intent.id, type: 'payment_intent.succeeded' },
      }),
    );
    const read = await payments.graphql<{ paymentByOrder: PaymentJson }>(
      BY_ORDER,
      { orderId },
      customer.token,
    );
    // The capture is recorded once, by whichever comes first: the admin's call writing after Stripe answered it,
    // or the succeeded webhook Stripe sent at the capture (it can beat that write).
    const history = read.data?.paymentByOrder.statusHistory.map((h) => [h.from, h.status, h.source]);
    expect(history?.slice(0, 2)).toEqual([
      [null, 'PENDING', 'EVENT'],
      ['PENDING', 'AUTHORIZED', 'WEBHOOK'],
    ]);
    expect(history?.slice(2)).toEqual([['AUTHORIZED', 'CAPTURED', expect.stringMatching(/^(API|WEBHOOK)$/)]]);
    expect((await payments.published('payment.status-changed', orderId)).map((e) => [e.from, e.to])).toEqual([
      ['PENDING', 'AUTHORIZED'],
      ['AUTHORIZED', 'CAPTURED'],
    ]);
  });

  it('a declined card → FAILED (payment.failed), then another card succeeds on the same intent', async () => {
    const { orderId, customer } = await placedOrder();
    const { clientSecret } = await pay(orderId, customer);
    const intentId = intentIdOf(clientSecret);

    await expect(
      payments.stripe.paymentIntents.confirm(intentId, { payment_method: 'pm_card_chargeDeclined' }),
    ).rejects.toMatchObject({ type: 'StripeCardError', code: 'card_declined', statusCode: 402 });
    const failed = await payments.paymentOf(orderId, (p) => p.status === 'FAILED');
    expect(failed.failureReason).toBe('Your card was declined.');
    expect(await payments.published('payment.failed', orderId)).toEqual([
      { paymentId: failed.id, orderId, userId: customer.userId, reason: 'Your card was declined.' },
    ]);

    // The customer may retry: a new call returns the same intent, and a good card authorises it.
    const retry = await pay(orderId, customer);
    expect(intentIdOf(retry.clientSecret)).toBe(intentId);
    await payments.stripe.paymentIntents.confirm(intentId, { payment_method: 'pm_card_visa' });
    const authorised = await payments.paymentOf(orderId, (p) => p.status === 'AUTHORIZED');
    expect(authorised.failureReason).toBeNull();
  });

  it('replays the stored response for the same key and request; another request with the key is CONFLICT', async () => {
    const { orderId, customer } = await placedOrder();
    const key = `key-${randomUUID()}`;
    const first = await pay(orderId, customer, key);
    const again = await pay(orderId, customer, key);
    expect(again.clientSecret).toBe(first.clientSecret);
    expect(again.payment.id).toBe(first.payment.id);

    const log = await payments.prisma.idempotencyLog.findUniqueOrThrow({
      where: { userId_idempotencyKey: { userId: customer.userId, idempotencyKey: key } },
    });
    expect(log.requestHash).toMatch(/^[0-9a-f]{64}$/);
    expect(log.expiresAt.getTime() - log.createdAt.getTime()).toBeGreaterThanOrEqual(24 * 3_600_000 - 1_000);

    // The same key for another order (another request) is refused and changes nothing.
    const other = await payments.customer();
    const otherOrder = randomUUID();
    await payments.publish(
      'order.placed',
      sampleOrderPlaced({ orderId: otherOrder, userId: customer.userId }),
    );
    await payments.paymentOf(otherOrder);
    const mismatch = await payments.graphql(CREATE_INTENT, { orderId: otherOrder, key }, customer.token);
    expect(codes(mismatch)).toEqual(['CONFLICT']);
    expect((await payments.paymentOf(otherOrder)).stripePaymentIntentId).toBeNull();

    // Another customer's identical key is theirs, not a mismatch of this one's.
    const foreign = await payments.graphql(CREATE_INTENT, { orderId, key }, other.token);
    expect(codes(foreign)).toEqual(['FORBIDDEN']);

    // A new key for the same order gets the same intent (a deterministic Stripe idempotency key).
    const newKey = await pay(orderId, customer);
    expect(newKey.clientSecret).toBe(first.clientSecret);
  });

  it('asked right after checkout, before payments has the order, it waits for the payment instead of NOT_FOUND', async () => {
    const customer = await payments.customer();
    const orderId = randomUUID();
    // Asked first, the event published afterwards: the call can only succeed by waiting for the payment.
    const asked = payments.graphql(CREATE_INTENT, { orderId, key: randomUUID() }, customer.token);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await payments.publish(
      'order.placed',
      sampleOrderPlaced({ orderId, userId: customer.userId, userEmail: customer.email }),
    );
    const response = (await asked) as IntentResponse;
    expect(response.errors).toBeUndefined();
    expect(response.data?.createPaymentIntent.payment.status).toBe('PENDING');
    expect(response.data?.createPaymentIntent.clientSecret).toMatch(/^pi_/);
    expect(await payments.prisma.payment.count({ where: { orderId } })).toBe(1);
  });

  it('concurrent calls with one key create one intent and answer alike', async () => {
    const { orderId, customer } = await placedOrder();
    const key = randomUUID();
    const responses = (await Promise.all(
      [1, 2, 3].map(() => payments.graphql(CREATE_INTENT, { orderId, key }, customer.token)),
    )) as IntentResponse[];
    expect(responses.map((r) => r.errors)).toEqual([undefined, undefined, undefined]);
    const secrets = new Set(responses.map((r) => r.data?.createPaymentIntent.clientSecret));
    expect(secrets.size).toBe(1);
    expect(await payments.prisma.idempotencyLog.count({ where: { userId: customer.userId } })).toBe(1);
  });

  it('is for the signed-in owner of a payable order only; bad input is coded', async () => {
    const { orderId, customer } = await placedOrder();
    expect(codes(await payments.graphql(CREATE_INTENT, { orderId, key: 'k' }))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await payments.graphql(CREATE_INTENT, { orderId, key: 'k' }, payments.adminToken))).toEqual([
      'FORBIDDEN',
    ]);
    expect(
      codes(await payments.graphql(CREATE_INTENT, { orderId: randomUUID(), key: 'k' }, customer.token)),
    ).toEqual(['NOT_FOUND']);
    expect(
      codes(await payments.graphql(CREATE_INTENT, { orderId: 'nope', key: 'k' }, customer.token)),
    ).toEqual(['BAD_USER_INPUT']);
    expect(codes(await payments.graphql(CREATE_INTENT, { orderId, key: '  ' }, customer.token))).toEqual([
      'BAD_USER_INPUT',
    ]);
    // Reads: the owner and admins; others are refused.
    const stranger = await payments.customer();
    expect(codes(await payments.graphql(BY_ORDER, { orderId }, stranger.token))).toEqual(['FORBIDDEN']);
    expect(codes(await payments.graphql(BY_ORDER, { orderId }))).toEqual(['UNAUTHENTICATED']);
    const asAdmin = await payments.graphql<{ paymentByOrder: PaymentJson }>(
      BY_ORDER,
      { orderId },
      payments.adminToken,
    );
    expect(asAdmin.data?.paymentByOrder.status).toBe('PENDING');
  });

  it('an authorised payment cannot be paid again (CONFLICT)', async () => {
    const { orderId, customer } = await authorisedOrder();
    expect(
      codes(await payments.graphql(CREATE_INTENT, { orderId, key: randomUUID() }, customer.token)),
    ).toEqual(['CONFLICT']);
  });
});

describe('capture and refunds (admins)', () => {
  it('capturePayment is admin-only and refuses a payment that is not AUTHORIZED', async () => {
    const { orderId, customer } = await placedOrder();
    const payment = await payments.paymentOf(orderId);
    expect(codes(await payments.graphql(CAPTURE, { id: payment.id }, customer.token))).toEqual(['FORBIDDEN']);
    expect(codes(await payments.graphql(CAPTURE, { id: payment.id }, payments.adminToken))).toEqual([
      'CONFLICT',
    ]);
    expect(codes(await payments.graphql(CAPTURE, { id: randomUUID() }, payments.adminToken))).toEqual([
      'NOT_FOUND',
    ]);
    expect((await payments.paymentOf(orderId)).status).toBe('PENDING');
  });

  it('partial refunds up to the captured total; one more is refused and changes nothing', async () => {
    const { orderId, paymentId } = await authorisedOrder('50.00');
    await payments.graphql(CAPTURE, { id: paymentId }, payments.adminToken);

    const first = await payments.graphql<{ refundPayment: PaymentJson }>(
      REFUND,
      { id: paymentId, amount: '20.00', reason: 'damaged box' },
      payments.adminToken,
    );
    expect(first.errors).toBeUndefined();
    expect(first.data?.refundPayment).toMatchObject({
      status: 'PARTIALLY_REFUNDED',
      refundedAmount: { amount: '20.00' },
      refunds: [{ amount: { amount: '20.00' }, reason: 'damaged box', status: 'SUCCEEDED', restock: false }],
    });

    const tooMuch = await payments.graphql(REFUND, { id: paymentId, amount: '30.01' }, payments.adminToken);
    expect(codes(tooMuch)).toEqual(['BAD_USER_INPUT']);

    const rest = await payments.graphql<{ refundPayment: PaymentJson }>(
      REFUND,
      { id: paymentId, amount: '30.00', restock: true },
      payments.adminToken,
    );
    expect(rest.data?.refundPayment).toMatchObject({
      status: 'REFUNDED',
      refundedAmount: { amount: '50.00' },
    });

    const oneMore = await payments.graphql(REFUND, { id: paymentId, amount: '0.01' }, payments.adminToken);
    expect(codes(oneMore)).toEqual(['CONFLICT']);

    expect(await payments.published('payment.refunded', orderId)).toEqual([
      expect.objectContaining({ amount: { amount: '20.00', currency: 'USD' }, restock: false }),
      expect.objectContaining({ amount: { amount: '30.00', currency: 'USD' }, restock: true }),
    ]);
    expect(await payments.prisma.refund.count({ where: { paymentId, status: 'SUCCEEDED' } })).toBe(2);
    // The refunds' own webhooks change nothing more.
    await waitFor(
      'both refund webhooks',
      async () =>
        (await payments.prisma.stripeWebhookEvent.count({
          where: { type: 'refund.created', outcome: { not: 'received' } },
        })) >= 2,
    );
    const after = await payments.prisma.payment.findUniqueOrThrow({ where: { id: paymentId } });
    expect(after.refundedAmount.toFixed(2)).toBe('50.00');
  });

  it('refundPayment refuses non-admins, uncaptured payments and malformed amounts', async () => {
    const { customer, paymentId } = await authorisedOrder();
    expect(codes(await payments.graphql(REFUND, { id: paymentId, amount: '1.00' }, customer.token))).toEqual([
      'FORBIDDEN',
    ]);
    expect(
      codes(await payments.graphql(REFUND, { id: paymentId, amount: '1.00' }, payments.adminToken)),
    ).toEqual(['CONFLICT']);
    for (const amount of ['0', '-1.00', '1.001', 'ten']) {
      expect(codes(await payments.graphql(REFUND, { id: paymentId, amount }, payments.adminToken))).toEqual([
        'BAD_USER_INPUT',
      ]);
    }
  });
});

describe('order events', () => {
  it('order.shipped captures the authorised payment', async () => {
    const { orderId, customer, intentId } = await authorisedOrder();
    await payments.publish('order.shipped', { orderId, userId: customer.userId });
    const captured = await payments.paymentOf(orderId, (p) => p.status === 'CAPTURED');
    expect(captured.capturedAmount.toFixed(2)).toBe('19.98');
    expect((await payments.stripe.paymentIntents.retrieve(intentId)).status).toBe('succeeded');
    const history = await payments.prisma.paymentStatusHistory.findMany({
      where: { paymentId: captured.id, status: 'CAPTURED' },
    });
    // Captured once: by the order.shipped handler, or by Stripe's payment_intent.succeeded webhook when that
    // arrives before the handler's own write (the two race; whichever is second changes nothing).
    expect(history).toHaveLength(1);
    expect(history[0]?.source).toMatch(/^(EVENT|WEBHOOK)$/);
  });

  it('order.cancelled before capture cancels the intent at Stripe → CANCELLED', async () => {
    const { orderId, customer, intentId } = await authorisedOrder();
    await payments.publish('order.cancelled', {
      orderId,
      userId: customer.userId,
      reason: 'CUSTOMER_REQUEST',
    });
    await payments.paymentOf(orderId, (p) => p.status === 'CANCELLED');
    expect((await payments.stripe.paymentIntents.retrieve(intentId)).status).toBe('canceled');
    expect((await payments.published('payment.status-changed', orderId)).at(-1)).toMatchObject({
      from: 'AUTHORIZED',
      to: 'CANCELLED',
    });
  });

  it('order.cancelled after capture refunds the capture (no restock)', async () => {
    const { orderId, customer, paymentId } = await authorisedOrder();
    await payments.graphql(CAPTURE, { id: paymentId }, payments.adminToken);
    await payments.publish('order.cancelled', {
      orderId,
      userId: customer.userId,
      reason: 'CUSTOMER_REQUEST',
    });
    const refunded = await payments.paymentOf(orderId, (p) => p.status === 'REFUNDED');
    expect(refunded.refundedAmount.toFixed(2)).toBe('19.98');
    expect(await payments.published('payment.refunded', orderId)).toEqual([
      expect.objectContaining({ amount: { amount: '19.98', currency: 'USD' }, restock: false }),
    ]);
  });

  it('order.cancelled before order.placed: the late placement is CANCELLED at once', async () => {
    const customer = await payments.customer();
    const orderId = randomUUID();
    await payments.publish('order.cancelled', {
      orderId,
      userId: customer.userId,
      reason: 'CUSTOMER_REQUEST',
    });
    await waitFor('the cancellation', () =>
      payments.prisma.orderCancellation.findUnique({ where: { orderId } }),
    );
    await payments.publish('order.placed', sampleOrderPlaced({ orderId, userId: customer.userId }));
    await payments.paymentOf(orderId, (p) => p.status === 'CANCELLED');
    expect(
      codes(await payments.graphql(CREATE_INTENT, { orderId, key: randomUUID() }, customer.token)),
    ).toEqual(['CONFLICT']);
  });

  it('inventory.reservation-failed releases an uncaptured intent', async () => {
    const { orderId, intentId } = await authorisedOrder();
    await payments.publish('inventory.reservation-failed', {
      orderId,
      reason: 'EXPIRED_BEFORE_PAYMENT',
      productIds: [],
    });
    await payments.paymentOf(orderId, (p) => p.status === 'CANCELLED');
    expect((await payments.stripe.paymentIntents.retrieve(intentId)).status).toBe('canceled');
  });
});
