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
import { untilFeedDelivers } from './checkout-support';
import { startTestSupergraph, type TestSupergraph } from './supergraph';

// The acceptance of the subscriptions issue for orders: orderStatusChanged through the gateway, served by the
// real orders subgraph (its Kafka feed of order.status-changed), with product fields hydrated from products.

const STATUS_CHANGED = `subscription S($orderId: ID!) {
  orderStatusChanged(orderId: $orderId) { from to reason order { id status items { quantity product { name } } } }
}`;
const CREATE_PRODUCT = `mutation P($input: CreateProductInput!) { createProduct(input: $input) { id name } }`;
const PLACE_ORDER = `mutation O($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }`;
const CANCEL = `mutation C($id: ID!) { cancelOrder(id: $id) { id status } }`;
const address = { street: '1 Main St', city: 'Springfield', state: 'IL', zipCode: '62701', country: 'us' };

type Change = {
  data?: { orderStatusChanged: { from: string; to: string; reason: string | null; order: unknown } } | null;
  errors?: { extensions?: { code?: string } }[];
};

describe('orderStatusChanged through the gateway', () => {
  let supergraph: TestSupergraph;
  const subscriptions: Subscribed<Change>[] = [];

  beforeAll(async () => {
    supergraph = await startTestSupergraph({ only: ['users', 'products', 'orders'] });
  });

  afterAll(async () => {
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
    await supergraph?.stop();
  });

  const send = <D>(query: string, variables: Record<string, unknown>, token: string) =>
    graphqlData<D>(supergraph.gateway.url, query, variables, token);

  function subscribe(token: string, orderId: string) {
    const subscription = subscribeOverWs<Change>(
      supergraph.gateway.wsUrl,
      STATUS_CHANGED,
      { orderId },
      token,
    );
    subscriptions.push(subscription);
    return subscription;
  }

  const isProbe = (value: Change) => value.data?.orderStatusChanged.reason === 'PROBE';

  it("streams the owner's order states with product fields, and refuses another customer", async () => {
    const admin = await supergraph.keys.tokenFor('ADMIN');
    const name = `Subscribed ${uniqueSku()}`;
    const { createProduct } = await send<{ createProduct: { id: string } }>(
      CREATE_PRODUCT,
      { input: { name, sku: uniqueSku(), price: '5.00' } },
      admin,
    );
    const viewer = {
      userId: randomUUID(),
      role: 'CUSTOMER' as const,
      email: uniqueEmail('owner'),
      name: 'Owner',
    };
    const owner = await supergraph.keys.tokenFor(viewer);
    const { placeOrder } = await send<{ placeOrder: { id: string; status: string } }>(
      PLACE_ORDER,
      { input: { items: [{ productId: createProduct.id, quantity: 2 }], shippingAddress: address } },
      owner,
    );
    expect(placeOrder.status).toBe('PENDING');

    const stranger = subscribe(await supergraph.keys.tokenFor('CUSTOMER'), placeOrder.id);
    await waitFor('the refusal', () => stranger.values.length > 0 || stranger.errors.length > 0);
    expect(JSON.stringify([...stranger.values, ...stranger.errors])).toMatch(/NOT_FOUND|FORBIDDEN/);

    const mine = subscribe(owner, placeOrder.id);
    await untilFeedDelivers(
      supergraph,
      'order.status-changed',
      { orderId: placeOrder.id, userId: viewer.userId, from: 'PENDING', to: 'PENDING', reason: 'PROBE' },
      () => mine.values.some(isProbe),
    );
    await send(CANCEL, { id: placeOrder.id }, owner);
    const real = () => mine.values.filter((value) => !isProbe(value));
    await waitFor('the cancellation', () => real().length > 0);
    expect(real()[0]).toEqual({
      data: {
        orderStatusChanged: {
          from: 'PENDING',
          to: 'CANCELLED',
          reason: expect.any(String),
          order: { id: placeOrder.id, status: 'CANCELLED', items: [{ quantity: 2, product: { name } }] },
        },
      },
    });
    expect(mine.errors).toEqual([]);
  });
});
