import { randomUUID } from 'node:crypto';
import { sampleOrderPlaced, waitFor } from '@shop/testing';
import type Stripe from 'stripe';
import { afterEach, describe, expect, it } from 'vitest';
import { CREATE_INTENT, type IntentResponse, intentIdOf, usePayments } from './support';

const payments = usePayments();

afterEach(async () => {
  await payments.pauseWebhooks(false);
});

/** A placed order with an intent, paid or not; webhooks held when `hold` says so. */
async function orderWithIntent() {
  const customer = await payments.customer();
  const orderId = randomUUID();
  await payments.publish('order.placed', sampleOrderPlaced({ orderId, userId: customer.userId }));
  await payments.paymentOf(orderId);
  const response = (await payments.graphql(
    CREATE_INTENT,
    { orderId, key: randomUUID() },
    customer.token,
  )) as IntentResponse;
  const clientSecret = response.data?.createPaymentIntent.clientSecret as string;
  return { orderId, customer, intentId: intentIdOf(clientSecret) };
}

async function eventsOf(intentId: string, type?: string): Promise<Stripe.Event[]> {
  return (await payments.stripeEvents()).filter(
    (event) =>
      (event.data.object as { id: string }).id === intentId && (type === undefined || event.type === type),
  );
}

async function historyOf(orderId: string) {
  const payment = await payments.prisma.payment.findUniqueOrThrow({ where: { orderId } });
  const rows = await payments.prisma.paymentStatusHistory.findMany({
    where: { paymentId: payment.id },
    orderBy: { sequence: 'asc' },
  });
  return rows.map((row) => [row.fromStatus, row.status, row.source]);
}

describe('POST /webhooks/stripe', () => {
  it('refuses a forged signature with 400 and changes nothing', async () => {
    await payments.pauseWebhooks(true);
    const { orderId, intentId } = await orderWithIntent();
    await payments.stripe.paymentIntents.confirm(intentId, { payment_method: 'pm_card_visa' });
    const [event] = await eventsOf(intentId, 'payment_intent.amount_capturable_updated');
    const payload = JSON.stringify(event);

    const forged = await payments.postWebhook(payload, { secret: 'whsec_someone_else' });
    expect(forged.status).toBe(400);
    expect(forged.body).toMatchObject({ error: { code: 'BAD_USER_INPUT' } });
    // The right signature over other bytes (a tampered body) is just as forged.
    const signed = payments.stripe.webhooks.generateTestHeaderString({
      payload,
      secret: payments.env.STRIPE_WEBHOOK_SECRET as string,
    });
    const tampered = await payments.postWebhook(payload.replace('"usd"', '"eur"'), { signature: signed });
    expect(tampered.status).toBe(400);
    const unsigned = await payments.postWebhook(payload, { signature: null });
    expect(unsigned.status).toBe(400);

    expect((await payments.paymentOf(orderId)).status).toBe('PENDING');
    expect(await payments.prisma.stripeWebhookEvent.count({ where: { id: event?.id ?? '' } })).toBe(0);
  });

  it('refuses a stale timestamp (older than 5 minutes) with 400', async () => {
    await payments.pauseWebhooks(true);
    const { orderId, intentId } = await orderWithIntent();
    await payments.stripe.paymentIntents.confirm(intentId, { payment_method: 'pm_card_visa' });
    const [event] = await eventsOf(intentId, 'payment_intent.amount_capturable_updated');
    const payload = JSON.stringify(event);

    const stale = await payments.postWebhook(payload, { timestamp: Math.floor(Date.now() / 1000) - 301 });
    expect(stale.status).toBe(400);
    expect(String((stale.body.error as { message: string }).message)).toMatch(/tolerance/i);
    expect((await payments.paymentOf(orderId)).status).toBe('PENDING');

    // The same event freshly signed is accepted (what Stripe's retry would send).
    const fresh = await payments.postWebhook(payload);
    expect(fresh).toMatchObject({ status: 200, body: { received: true, outcome: 'applied' } });
    expect((await payments.paymentOf(orderId)).status).toBe('AUTHORIZED');
  });

  it('applies a duplicate webhook once', async () => {
    await payments.pauseWebhooks(true);
    const { orderId, intentId } = await orderWithIntent();
    await payments.stripe.paymentIntents.confirm(intentId, { payment_method: 'pm_card_visa' });
    const [event] = await eventsOf(intentId, 'payment_intent.amount_capturable_updated');
    const payload = JSON.stringify(event);

    const [a, b] = await Promise.all([payments.postWebhook(payload), payments.postWebhook(payload)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect([a.body.outcome, b.body.outcome].sort()).toEqual(['applied', 'duplicate']);
    const third = await payments.postWebhook(payload);
    expect(third.body.outcome).toBe('duplicate');

    expect(await historyOf(orderId)).toEqual([
      [null, 'PENDING', 'EVENT'],
      ['PENDING', 'AUTHORIZED', 'WEBHOOK'],
    ]);
    expect(await payments.published('payment.authorized', orderId)).toHaveLength(1);
  });

  it('is safe out of order: a capture seen before its authorisation, then the late authorisation', async () => {
    await payments.pauseWebhooks(true);
    const { orderId, intentId } = await orderWithIntent();
    await payments.stripe.paymentIntents.confirm(intentId, { payment_method: 'pm_card_visa' });
    // Captured at Stripe directly (as from the Dashboard): the shop learns it only from webhooks.
    await payments.stripe.paymentIntents.capture(intentId);
    const [authorised] = await eventsOf(intentId, 'payment_intent.amount_capturable_updated');
    const [succeeded] = await eventsOf(intentId, 'payment_intent.succeeded');

    expect((await payments.postWebhook(JSON.stringify(succeeded))).body.outcome).toBe('applied');
    expect((await payments.postWebhook(JSON.stringify(authorised))).body.outcome).toBe(
      'ignored: payment is CAPTURED',
    );

    const payment = await payments.paymentOf(orderId);
    expect(payment.status).toBe('CAPTURED');
    expect(payment.capturedAmount.toFixed(2)).toBe('19.98');
    // payment.authorized is never skipped: inventory confirms stock on it.
    expect(await historyOf(orderId)).toEqual([
      [null, 'PENDING', 'EVENT'],
      ['PENDING', 'AUTHORIZED', 'WEBHOOK'],
      ['AUTHORIZED', 'CAPTURED', 'WEBHOOK'],
    ]);
    expect(await payments.published('payment.authorized', orderId)).toHaveLength(1);
    expect(await payments.published('payment.captured', orderId)).toHaveLength(1);
  });

  it('ignores a late decline that arrives after the retry succeeded', async () => {
    await payments.pauseWebhooks(true);
    const { orderId, intentId } = await orderWithIntent();
    await expect(
      payments.stripe.paymentIntents.confirm(intentId, { payment_method: 'pm_card_chargeDeclined' }),
    ).rejects.toMatchObject({ code: 'card_declined' });
    await payments.stripe.paymentIntents.confirm(intentId, { payment_method: 'pm_card_visa' });
    const [failed] = await eventsOf(intentId, 'payment_intent.payment_failed');
    const [authorised] = await eventsOf(intentId, 'payment_intent.amount_capturable_updated');

    await payments.postWebhook(JSON.stringify(authorised));
    expect((await payments.postWebhook(JSON.stringify(failed))).body.outcome).toBe(
      'ignored: payment is AUTHORIZED',
    );
    expect((await payments.paymentOf(orderId)).status).toBe('AUTHORIZED');
    expect(await payments.published('payment.failed', orderId)).toEqual([]);
  });

  it('acknowledges events of intents it does not know, and types it does not act on', async () => {
    await payments.pauseWebhooks(true);
    const { intentId } = await orderWithIntent();
    const [created] = await eventsOf(intentId, 'payment_intent.created');
    expect((await payments.postWebhook(JSON.stringify(created))).body.outcome).toBe(
      'ignored: not a type this shop acts on',
    );
    // Recorded once, with its outcome (one statement, no transaction); Stripe's retry of it is a duplicate.
    expect(
      await payments.prisma.stripeWebhookEvent.findUnique({ where: { id: created?.id ?? '' } }),
    ).toMatchObject({
      type: 'payment_intent.created',
      objectId: intentId,
      outcome: 'ignored: not a type this shop acts on',
    });
    expect((await payments.postWebhook(JSON.stringify(created))).body.outcome).toBe('duplicate');
    const foreign = {
      ...created,
      id: `evt_${randomUUID().replace(/-/g, '')}`,
      type: 'payment_intent.succeeded',
      data: { object: { ...(created?.data.object ?? {}), id: 'pi_not_ours', metadata: {} } },
    };
    expect((await payments.postWebhook(JSON.stringify(foreign))).body.outcome).toBe(
      'ignored: no payment of ours',
    );
  });

  it('the local server delivers signed webhooks by itself, in order', async () => {
    const { orderId, intentId } = await orderWithIntent();
    await payments.stripe.paymentIntents.confirm(intentId, { payment_method: 'pm_card_visa' });
    await payments.paymentOf(orderId, (p) => p.status === 'AUTHORIZED');
    await waitFor('the webhooks recorded', async () => {
      const received = await payments.prisma.stripeWebhookEvent.findMany({ where: { objectId: intentId } });
      return received.length === 2 ? received : undefined;
    });
  });
});
