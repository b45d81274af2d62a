import { randomUUID } from 'node:crypto';
import { waitFor } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import { type Caller, placeOrder, useOrders, wsClient } from './support';

// Subscription.orderStatusChanged over graphql-ws, fed by the subgraph's own Kafka feed of
// order.status-changed (published through the outbox on every transition).

const harness = useOrders();

const STATUS_CHANGED = `subscription S($orderId: ID!) {
  orderStatusChanged(orderId: $orderId) { from to reason at order { id status cancellationReason } }
}`;

function subscribe(caller: Caller | undefined, orderId: string) {
  const client = wsClient(harness.orders.wsUrl, caller);
  const values: unknown[] = [];
  let failure: unknown;
  const done = new Promise<void>((resolve) => {
    client.subscribe(
      { query: STATUS_CHANGED, variables: { orderId } },
      {
        next: (value) => values.push(value),
        error: (error) => {
          failure = error;
          resolve();
        },
        complete: resolve,
      },
    );
  });
  return { client, values, done, failure: () => failure };
}

type Subscriber = ReturnType<typeof subscribe>;

const isProbe = (value: unknown) =>
  (value as { data?: { orderStatusChanged?: { reason?: string } } }).data?.orderStatusChanged?.reason ===
  'PROBE';
const real = (values: unknown[]) => values.filter((value) => !isProbe(value));

/**
 * graphql-ws does not say when the server has registered a subscription: publish harmless probe changes of
 * the order on the feed's topic until every subscriber has seen one (no fixed sleep).
 */
async function untilSubscribed(subscribers: Subscriber[], orderId: string, userId: string): Promise<void> {
  await waitFor(
    'subscriptions registered',
    async () => {
      if (subscribers.every((subscriber) => subscriber.values.some(isProbe))) return true;
      await harness.publish('order.status-changed', {
        orderId,
        userId,
        from: 'PENDING',
        to: 'PENDING',
        reason: 'PROBE',
      });
      return false;
    },
    { timeoutMs: 20_000, intervalMs: 250 },
  );
}

describe('orderStatusChanged', () => {
  it('streams the owner’s and an admin’s order changes as they happen', async () => {
    const customer = await harness.customer();
    const product = await harness.product();
    const order = await placeOrder(harness, customer, [{ productId: product.id, quantity: 1 }]);
    const other = await placeOrder(harness, customer, [{ productId: product.id, quantity: 1 }]);
    const owner = subscribe(customer, order.id);
    const admin = subscribe(harness.admin, order.id);
    await untilSubscribed([owner, admin], order.id, customer.viewer.userId);
    // Another order's change is not delivered to these subscribers.
    await harness.post('mutation C($id: ID!) { cancelOrder(id: $id) { id } }', { id: other.id }, customer);
    await harness.post('mutation C($id: ID!) { cancelOrder(id: $id) { id } }', { id: order.id }, customer);

    for (const subscriber of [owner, admin]) {
      await waitFor('the change', () => real(subscriber.values).length > 0);
      expect(real(subscriber.values)[0]).toEqual({
        data: {
          orderStatusChanged: {
            from: 'PENDING',
            to: 'CANCELLED',
            reason: 'CUSTOMER_REQUEST',
            at: expect.any(String),
            order: { id: order.id, status: 'CANCELLED', cancellationReason: 'CUSTOMER_REQUEST' },
          },
        },
      });
    }
    // The other order's cancellation came first: had it been delivered, it would be here.
    expect(real(owner.values)).toHaveLength(1);
    expect(real(admin.values)).toHaveLength(1);
    await owner.client.dispose();
    await admin.client.dispose();
  });

  it('refuses another customer (NOT_FOUND), an unknown order (NOT_FOUND) and anonymous callers', async () => {
    const customer = await harness.customer();
    const stranger = await harness.customer();
    const product = await harness.product();
    const order = await placeOrder(harness, customer, [{ productId: product.id, quantity: 1 }]);

    for (const [caller, orderId, code] of [
      [stranger, order.id, 'NOT_FOUND'],
      [customer, randomUUID(), 'NOT_FOUND'],
      [undefined, order.id, 'UNAUTHENTICATED'],
    ] as const) {
      const attempt = subscribe(caller, orderId);
      await attempt.done;
      // Refused at subscribe: one result carrying the coded error, then the end (or a graphql-ws error).
      const errors =
        attempt.failure() ??
        (attempt.values as { errors?: unknown; data?: unknown }[]).map((v) => v.errors)[0];
      expect(errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code }) })]);
      expect(attempt.values.filter((value) => (value as { data?: unknown }).data)).toEqual([]);
      await attempt.client.dispose();
    }
  });
});
