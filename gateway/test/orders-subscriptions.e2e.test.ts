import { randomUUID } from 'node:crypto';
import { createGraphQLWsClient, type GraphQLWsClient, WebSocket } from '@shop/kit';
import { postGraphQL, uniqueEmail, uniqueSku, waitFor } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  const clients: GraphQLWsClient[] = [];
  let producer: Awaited<ReturnType<TestSupergraph['kafka']['connection']['producer']>> | undefined;

  beforeAll(async () => {
    supergraph = await startTestSupergraph({ only: ['users', 'products', 'orders'] });
    producer = await supergraph.kafka.connection.producer();
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await producer?.disconnect();
    await supergraph?.stop();
  });

  async function send<D>(query: string, variables: Record<string, unknown>, token: string): Promise<D> {
    const result = await postGraphQL<D>(supergraph.gateway.url, query, variables, token);
    if (!result.data || result.errors) throw new Error(JSON.stringify(result.errors));
    return result.data;
  }

  function subscribe(token: string, orderId: string) {
    const client = createGraphQLWsClient({
      url: supergraph.gateway.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
    });
    clients.push(client);
    const values: Change[] = [];
    const errors: unknown[] = [];
    client.subscribe(
      { query: STATUS_CHANGED, variables: { orderId } },
      {
        next: (value) => values.push(value as unknown as Change),
        error: (e) => errors.push(e),
        complete: () => {},
      },
    );
    return { values, errors };
  }

  const isProbe = (value: Change) => value.data?.orderStatusChanged.reason === 'PROBE';

  /** graphql-ws does not say when the subgraph registered a subscription: publish harmless probes until seen. */
  async function untilSubscribed(values: Change[], orderId: string, userId: string) {
    await waitFor(
      'the subscription to reach the feed',
      async () => {
        if (values.some(isProbe)) return true;
        const event = {
          id: randomUUID(),
          type: 'order.status-changed',
          version: 1,
          occurredAt: new Date().toISOString(),
          source: 'orders',
          correlationId: randomUUID(),
          data: { orderId, userId, from: 'PENDING', to: 'PENDING', reason: 'PROBE' },
        };
        await producer?.send({
          topic: supergraph.kafka.connection.topic('order.status-changed'),
          messages: [{ key: orderId, value: JSON.stringify(event) }],
        });
        return false;
      },
      { timeoutMs: 30_000, intervalMs: 300 },
    );
  }

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
    await untilSubscribed(mine.values, placeOrder.id, viewer.userId);
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
