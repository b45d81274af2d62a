import { randomUUID } from 'node:crypto';
import {
  graphqlData,
  type Subscribed,
  subscribeOverWs,
  uniqueEmail,
  uniqueSku,
  waitFor,
} from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSupergraph, type TestSupergraph } from './supergraph';

// The acceptance of the subscriptions issue for payments: paymentStatusChanged through the gateway, served by the
// real payments subgraph (its Kafka feed), for an order placed through the gateway and paid at the local Stripe.

const CHANGED = `subscription S($orderId: ID!) {
  paymentStatusChanged(orderId: $orderId) { from to payment { id status } }
}`;
const CREATE_PRODUCT = `mutation P($input: CreateProductInput!) { createProduct(input: $input) { id } }`;
const PLACE_ORDER = `mutation O($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }`;
const PAYMENT = `query P($orderId: ID!) { paymentByOrder(orderId: $orderId) { id status } }`;
const CREATE_INTENT = `mutation I($orderId: ID!, $key: String!) {
  createPaymentIntent(orderId: $orderId, idempotencyKey: $key) { clientSecret payment { id } }
}`;
const CAPTURE = `mutation C($id: ID!) { capturePayment(paymentId: $id) { id status } }`;
const address = { street: '1 Main St', city: 'Springfield', state: 'IL', zipCode: '62701', country: 'us' };

type Change = { data?: { paymentStatusChanged: { from: string; to: string } } | null; errors?: unknown[] };

describe('paymentStatusChanged through the gateway', () => {
  let supergraph: TestSupergraph;
  const subscriptions: Subscribed<Change>[] = [];

  beforeAll(async () => {
    supergraph = await startTestSupergraph({ only: ['users', 'products', 'orders', 'payments'] });
  });

  afterAll(async () => {
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
    await supergraph?.stop();
  });

  const send = <D>(query: string, variables: Record<string, unknown>, token: string) =>
    graphqlData<D>(supergraph.gateway.url, query, variables, token);

  function subscribe(token: string, orderId: string) {
    const subscription = subscribeOverWs<Change>(supergraph.gateway.wsUrl, CHANGED, { orderId }, token);
    subscriptions.push(subscription);
    return subscription;
  }

  it('streams PENDING -> AUTHORIZED -> CAPTURED to the owner and refuses another customer', async () => {
    const admin = await supergraph.keys.tokenFor('ADMIN');
    const { createProduct } = await send<{ createProduct: { id: string } }>(
      CREATE_PRODUCT,
      { input: { name: 'Paid by subscription', sku: uniqueSku(), price: '7.00' } },
      admin,
    );
    const viewer = {
      userId: randomUUID(),
      role: 'CUSTOMER' as const,
      email: uniqueEmail('payer'),
      name: 'Payer',
    };
    const owner = await supergraph.keys.tokenFor(viewer);
    const { placeOrder } = await send<{ placeOrder: { id: string } }>(
      PLACE_ORDER,
      { input: { items: [{ productId: createProduct.id, quantity: 1 }], shippingAddress: address } },
      owner,
    );
    const orderId = placeOrder.id;
    await waitFor('the pending payment', async () => {
      const { paymentByOrder } = await send<{ paymentByOrder: { id: string } | null }>(
        PAYMENT,
        { orderId },
        owner,
      );
      return paymentByOrder;
    });

    const stranger = subscribe(await supergraph.keys.tokenFor('CUSTOMER'), orderId);
    await waitFor('the refusal', () => stranger.values.length > 0 || stranger.errors.length > 0);
    expect(JSON.stringify([...stranger.values, ...stranger.errors])).toMatch(/FORBIDDEN|NOT_FOUND/);

    const mine = subscribe(owner, orderId);
    await waitFor(
      'the subscription at the gateway',
      () => supergraph.gateway.subscriptions.streams.stats().streams >= 1,
    );
    // graphql-ws does not say when the subgraph's feed has the subscription; its registration is in-process.
    await new Promise((resolve) => setTimeout(resolve, 1000));

    const { createPaymentIntent } = await send<{
      createPaymentIntent: { clientSecret: string; payment: { id: string } };
    }>(CREATE_INTENT, { orderId, key: randomUUID() }, owner);
    const payments = supergraph.subgraphs.payments;
    if (!payments) throw new Error('payments did not start');
    const intentId = createPaymentIntent.clientSecret.split('_secret_')[0] as string;
    const confirmed = await fetch(`${payments.env.STRIPE_API_URL}/v1/payment_intents/${intentId}/confirm`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${payments.env.STRIPE_SECRET_KEY}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'payment_method=pm_card_visa',
    });
    expect(confirmed.status).toBe(200);
    await waitFor('the authorization', () =>
      mine.values.some((v) => v.data?.paymentStatusChanged.to === 'AUTHORIZED'),
    );
    await send(CAPTURE, { id: createPaymentIntent.payment.id }, admin);
    await waitFor('the capture', () =>
      mine.values.some((v) => v.data?.paymentStatusChanged.to === 'CAPTURED'),
    );

    const path = mine.values.map((v) => v.data?.paymentStatusChanged.to);
    expect(path.indexOf('AUTHORIZED')).toBeLessThan(path.indexOf('CAPTURED'));
    expect(mine.values[0]?.data?.paymentStatusChanged.from).toBe('PENDING');
    expect(mine.values.at(-1)).toEqual({
      data: {
        paymentStatusChanged: {
          from: 'AUTHORIZED',
          to: 'CAPTURED',
          payment: { id: createPaymentIntent.payment.id, status: 'CAPTURED' },
        },
      },
    });
    expect(mine.errors).toEqual([]);
  });
});
