import { randomUUID } from 'node:crypto';
import { createWsTestClient, sampleOrderPlaced, waitFor } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import { CREATE_INTENT, type Customer, codes, type IntentResponse, intentIdOf, usePayments } from './support';

const payments = usePayments();

const SUBSCRIBE = `subscription Changed($orderId: ID!) {
  paymentStatusChanged(orderId: $orderId) { paymentId orderId from to occurredAt payment { id status } }
}`;

function subscribe(orderId: string, token: string | undefined) {
  const client = createWsTestClient(payments.wsUrl, token);
  const values: { data?: { paymentStatusChanged: Record<string, unknown> }; errors?: unknown[] }[] = [];
  const done = new Promise<void>((resolve, reject) => {
    client.subscribe(
      { query: SUBSCRIBE, variables: { orderId } },
      { next: (value) => values.push(value as (typeof values)[number]), error: reject, complete: resolve },
    );
  });
  // A socket closed at the end of the file rejects `done`; tests that care await it.
  done.catch(() => {});
  return { values, done, client };
}

async function placedOrder(): Promise<{ orderId: string; customer: Customer }> {
  const customer = await payments.customer();
  const orderId = randomUUID();
  await payments.publish('order.placed', sampleOrderPlaced({ orderId, userId: customer.userId }));
  await payments.paymentOf(orderId);
  return { orderId, customer };
}

describe('Subscription.paymentStatusChanged', () => {
  it("streams the order's payment transitions to its customer and to admins, fed by Kafka", async () => {
    const { orderId, customer } = await placedOrder();
    const mine = subscribe(orderId, customer.token);
    const admin = subscribe(orderId, payments.adminToken);
    // An unrelated order's changes never reach this subscription.
    const other = await placedOrder();
    // The feed starts at the end of its topic: wait until both subscriptions are live before acting.
    await new Promise((resolve) => setTimeout(resolve, 500));

    const response = (await payments.graphql(
      CREATE_INTENT,
      { orderId, key: randomUUID() },
      customer.token,
    )) as IntentResponse;
    const intentId = intentIdOf(response.data?.createPaymentIntent.clientSecret as string);
    await expect(
      payments.stripe.paymentIntents.confirm(intentId, { payment_method: 'pm_card_chargeDeclined' }),
    ).rejects.toMatchObject({ code: 'card_declined' });
    await payments.stripe.paymentIntents.confirm(intentId, { payment_method: 'pm_card_visa' });
    await payments.publish('order.cancelled', {
      orderId: other.orderId,
      userId: other.customer.userId,
      reason: 'CUSTOMER_REQUEST',
    });

    await waitFor('three transitions', () => mine.values.length >= 2 && admin.values.length >= 2);
    expect(
      mine.values.map((v) => [v.data?.paymentStatusChanged.from, v.data?.paymentStatusChanged.to]),
    ).toEqual([
      ['PENDING', 'FAILED'],
      ['FAILED', 'AUTHORIZED'],
    ]);
    expect(mine.values[1]?.data?.paymentStatusChanged).toMatchObject({
      orderId,
      payment: { status: 'AUTHORIZED' },
    });
    expect(admin.values).toHaveLength(2);
    await mine.client.dispose();
    await admin.client.dispose();
  });

  it('refuses anonymous subscribers and other customers', async () => {
    const { orderId } = await placedOrder();
    // A refusal at subscribe time is one result with the coded error, then the end of the subscription.
    const anonymous = subscribe(orderId, undefined);
    await anonymous.done;
    expect(anonymous.values.map((value) => codes(value as Parameters<typeof codes>[0]))).toEqual([
      ['UNAUTHENTICATED'],
    ]);
    await anonymous.client.dispose();

    const stranger = await payments.customer();
    const refused = subscribe(orderId, stranger.token);
    await refused.done;
    expect(refused.values.map((value) => codes(value as Parameters<typeof codes>[0]))).toEqual([
      ['FORBIDDEN'],
    ]);
    await refused.client.dispose();
  });
});
