import { randomUUID } from 'node:crypto';
import { createGraphQLWsClient, type GraphQLWsClient, WebSocket } from '@shop/kit';
import { graphqlData, postGraphQL, registerUser, waitFor } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demo, startTestSupergraph, type TestSupergraph } from './supergraph';

// The orders issue through the gateway: an order's lines show products' fields, its customer users' fields,
// `me { orders }` comes from the orders subgraph, checkout reads the real cart, and orderStatusChanged is
// served by the orders subgraph's feed and hydrated by the gateway.

const LOGIN = `mutation L($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken user { id email } } }`;
const PRODUCTS = 'query { products(first: 2) { edges { node { id name price { amount } } } } }';
const PLACE = `mutation P($input: PlaceOrderInput!) {
  placeOrder(input: $input) { id status total { amount } user { id email } items { quantity product { id name } } }
}`;
const MY_ORDERS = 'query { me { id orders(first: 10) { totalCount edges { node { id } } } } }';
const ORDER = 'query O($id: ID!) { order(id: $id) { id status } }';
const ADD =
  'mutation A($productId: ID!, $quantity: Int!) { addCartItem(productId: $productId, quantity: $quantity) { itemCount } }';
const CART = 'query { cart { itemCount } }';
const CHECKOUT = `mutation C($input: CheckoutInput!) { checkout(input: $input) { id total { amount } items { product { name } } } }`;
const CANCEL = 'mutation X($id: ID!) { cancelOrder(id: $id) { id status } }';
const STATUS = `subscription S($orderId: ID!) {
  orderStatusChanged(orderId: $orderId) { from to reason order { id status user { email } items { product { name } } } }
}`;

const address = { street: '1 Main St', city: 'Springfield', state: 'IL', zipCode: '62701', country: 'US' };

describe('orders through the gateway', () => {
  let supergraph: TestSupergraph;
  let token: string;
  let userId: string;
  let products: { id: string; name: string; price: { amount: string } }[];
  const clients: GraphQLWsClient[] = [];

  beforeAll(async () => {
    supergraph = await startTestSupergraph({ only: ['users', 'products', 'cart', 'orders'] });
    const login = await send<{ login: { accessToken: string; user: { id: string } } }>(LOGIN, demo.customer);
    token = login.login.accessToken;
    userId = login.login.user.id;
    products = (
      await send<{ products: { edges: { node: (typeof products)[number] }[] } }>(PRODUCTS, {})
    ).products.edges.map((edge) => edge.node);
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await supergraph?.stop();
  });

  const send = <D>(query: string, variables: Record<string, unknown>, as?: string) =>
    graphqlData<D>(supergraph.gateway.url, query, variables, as);

  it('places an order whose lines and customer come from products and users, listed in me.orders', async () => {
    const [first] = products;
    if (!first) throw new Error('no demo products');
    const { placeOrder } = await send<{
      placeOrder: {
        id: string;
        status: string;
        total: { amount: string };
        user: { email: string };
        items: unknown[];
      };
    }>(PLACE, { input: { items: [{ productId: first.id, quantity: 2 }], shippingAddress: address } }, token);
    expect(placeOrder).toMatchObject({
      status: 'PENDING',
      user: { id: userId, email: demo.customer.email },
      items: [{ quantity: 2, product: { id: first.id, name: first.name } }],
    });
    expect(placeOrder.total.amount).toBe((Math.round(Number(first.price.amount) * 100 * 2) / 100).toFixed(2));

    const { me } = await send<{ me: { orders: { edges: { node: { id: string } }[] } } }>(
      MY_ORDERS,
      {},
      token,
    );
    expect(me.orders.edges.map((edge) => edge.node.id)).toContain(placeOrder.id);

    // Another customer sees neither the order nor it in their list.
    const stranger = await registerUser(supergraph.gateway.url);
    const foreign = await postGraphQL(
      supergraph.gateway.url,
      ORDER,
      { id: placeOrder.id },
      stranger.accessToken,
    );
    expect(foreign.errors?.map((error) => error.extensions?.code)).toEqual(['NOT_FOUND']);
    const theirs = await send<{ me: { orders: { totalCount: number } } }>(
      MY_ORDERS,
      {},
      stranger.accessToken,
    );
    expect(theirs.me.orders.totalCount).toBe(0);
  });

  it('checks out the cart with the caller’s token; the cart empties', async () => {
    const [, second] = products;
    if (!second) throw new Error('no demo products');
    const buyer = await registerUser(supergraph.gateway.url);
    await send(ADD, { productId: second.id, quantity: 3 }, buyer.accessToken);
    const { checkout } = await send<{ checkout: { items: { product: { name: string } }[] } }>(
      CHECKOUT,
      { input: { shippingAddress: address } },
      buyer.accessToken,
    );
    expect(checkout.items).toEqual([{ product: { name: second.name } }]);
    await waitFor('the cart emptied', async () => {
      const { cart } = await send<{ cart: { itemCount: number } }>(CART, {}, buyer.accessToken);
      return cart.itemCount === 0;
    });
  });

  it('streams orderStatusChanged with fields of other subgraphs', async () => {
    const [first] = products;
    if (!first) throw new Error('no demo products');
    const { placeOrder } = await send<{ placeOrder: { id: string } }>(
      PLACE,
      { input: { items: [{ productId: first.id, quantity: 1 }], shippingAddress: address } },
      token,
    );
    const client = createGraphQLWsClient({
      url: supergraph.gateway.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
    });
    clients.push(client);
    const values: { data?: { orderStatusChanged: { to: string; reason: string } } }[] = [];
    client.subscribe(
      { query: STATUS, variables: { orderId: placeOrder.id } },
      { next: (value) => values.push(value as (typeof values)[number]), error: () => {}, complete: () => {} },
    );
    // No acknowledgement of a registered subscription exists: publish harmless probes until one arrives.
    const producer = await supergraph.kafka.connection.producer();
    await waitFor(
      'the subscription',
      async () => {
        if (values.length > 0) return true;
        const probe = {
          id: randomUUID(),
          type: 'order.status-changed',
          version: 1,
          occurredAt: new Date().toISOString(),
          source: 'test',
          correlationId: randomUUID(),
          data: { orderId: placeOrder.id, userId, from: 'PENDING', to: 'PENDING', reason: 'PROBE' },
        };
        await producer.send({
          topic: supergraph.kafka.connection.topic('order.status-changed'),
          messages: [{ key: placeOrder.id, value: JSON.stringify(probe) }],
        });
        return false;
      },
      { intervalMs: 300 },
    );
    await send(CANCEL, { id: placeOrder.id }, token);
    await waitFor('the cancellation', () =>
      values.some((v) => v.data?.orderStatusChanged.to === 'CANCELLED'),
    );
    expect(values.find((v) => v.data?.orderStatusChanged.to === 'CANCELLED')).toEqual({
      data: {
        orderStatusChanged: {
          from: 'PENDING',
          to: 'CANCELLED',
          reason: 'CUSTOMER_REQUEST',
          order: {
            id: placeOrder.id,
            status: 'CANCELLED',
            user: { email: demo.customer.email },
            items: [{ product: { name: first.name } }],
          },
        },
      },
    });
  });
});
