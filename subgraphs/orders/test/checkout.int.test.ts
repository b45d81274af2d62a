import { randomUUID } from 'node:crypto';
import { parseEnvelope } from '@shop/events';
import type { Viewer } from '@shop/kit';
import { createProduct, startTestSubgraphs, type TestSubgraphs, uniqueEmail, waitFor } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { address, codes } from './support';

// checkout against the real cart subgraph (and the real products it and orders price from): the cart gives
// products and quantities, the catalogue the prices; the cart empties only when order.placed reaches it.

let supergraph: TestSubgraphs;
let adminToken: string;

beforeAll(async () => {
  supergraph = await startTestSubgraphs({ only: ['products', 'cart', 'orders'] });
  adminToken = await supergraph.keys.tokenFor('ADMIN');
});
afterAll(async () => {
  await supergraph?.stop();
});

const sub = (name: 'products' | 'cart' | 'orders') => {
  const found = supergraph.subgraphs[name];
  if (!found) throw new Error(`${name} did not start`);
  return found;
};

const ADD = `mutation Add($productId: ID!, $quantity: Int!, $guestCartId: ID) {
  addCartItem(productId: $productId, quantity: $quantity, guestCartId: $guestCartId) { id itemCount } }`;
const CART = 'query C($guestCartId: ID) { cart(guestCartId: $guestCartId) { id itemCount } }';
const CHECKOUT = `mutation Checkout($input: CheckoutInput!) {
  checkout(input: $input) { id status total { amount currency } items { product { id } quantity unitPrice { amount } } }
}`;

interface CheckoutJson {
  id: string;
  status: string;
  total: { amount: string; currency: string };
  items: { product: { id: string }; quantity: number; unitPrice: { amount: string } }[];
}

async function customer(): Promise<{ token: string; viewer: Viewer }> {
  const viewer: Viewer = {
    userId: randomUUID(),
    role: 'CUSTOMER',
    email: uniqueEmail('buyer'),
    name: 'Buyer',
  };
  return { token: await supergraph.keys.tokenFor(viewer), viewer };
}

async function itemCount(token: string | undefined, guestCartId?: string): Promise<number> {
  const response = await sub('cart').graphql<{ cart: { itemCount: number } }>(CART, { guestCartId }, token);
  return response.data?.cart.itemCount ?? -1;
}

describe('checkout', () => {
  it('orders the signed-in customer’s cart at catalogue prices; the cart empties once order.placed arrives', async () => {
    const placed = await supergraph.kafka.readTopic(supergraph.kafka.connection.topic('order.placed'));
    const buyer = await customer();
    const a = await createProduct(sub('products').url, adminToken, { price: '4.25' });
    const b = await createProduct(sub('products').url, adminToken, { price: '10.00' });
    await sub('cart').graphql(ADD, { productId: a.id, quantity: 2 }, buyer.token);
    await sub('cart').graphql(ADD, { productId: b.id, quantity: 1 }, buyer.token);
    expect(await itemCount(buyer.token)).toBe(3);

    const response = await sub('orders').graphql<{ checkout: CheckoutJson }>(
      CHECKOUT,
      { input: { shippingAddress: address() } },
      buyer.token,
    );
    expect(response.errors).toBeUndefined();
    const order = response.data?.checkout;
    expect(order?.total).toEqual({ amount: '18.50', currency: 'USD' });
    expect(order?.items.map((item) => [item.product.id, item.quantity]).sort()).toEqual(
      [
        [a.id, 2],
        [b.id, 1],
      ].sort(),
    );

    await waitFor('the cart emptied', async () => (await itemCount(buyer.token)) === 0);
    const event = placed.messages
      .map((message) => parseEnvelope(message.value))
      .find((envelope) => (envelope.data as { orderId?: string }).orderId === order?.id);
    expect(event?.data).toMatchObject({ userEmail: buyer.viewer.email, cart: {} });
  });

  it('checks out a guest cart for the signed-in customer, naming it in order.placed', async () => {
    const placed = await supergraph.kafka.readTopic(supergraph.kafka.connection.topic('order.placed'));
    const buyer = await customer();
    const product = await createProduct(sub('products').url, adminToken, { price: '3.00' });
    const guest = await sub('cart').graphql<{ addCartItem: { id: string } }>(ADD, {
      productId: product.id,
      quantity: 3,
    });
    const guestCartId = guest.data?.addCartItem.id;
    if (!guestCartId) throw new Error(`no guest cart: ${JSON.stringify(guest.errors)}`);

    const response = await sub('orders').graphql<{ checkout: CheckoutJson }>(
      CHECKOUT,
      { input: { shippingAddress: address(), guestCartId } },
      buyer.token,
    );
    expect(response.errors).toBeUndefined();
    expect(response.data?.checkout.total.amount).toBe('9.00');
    await waitFor('the guest cart emptied', async () => (await itemCount(undefined, guestCartId)) === 0);
    const event = placed.messages
      .map((message) => parseEnvelope(message.value))
      .find((envelope) => (envelope.data as { orderId?: string }).orderId === response.data?.checkout.id);
    expect(event?.data).toMatchObject({ cart: { guestCartId } });
  });

  it('refuses an empty cart, an inactive product in the cart and a bad address with BAD_USER_INPUT', async () => {
    const buyer = await customer();
    const empty = await sub('orders').graphql(
      CHECKOUT,
      { input: { shippingAddress: address() } },
      buyer.token,
    );
    expect(codes(empty)).toEqual(['BAD_USER_INPUT']);

    const product = await createProduct(sub('products').url, adminToken);
    await sub('cart').graphql(ADD, { productId: product.id, quantity: 1 }, buyer.token);
    const badAddress = await sub('orders').graphql(
      CHECKOUT,
      { input: { shippingAddress: { ...address(), country: '??' } } },
      buyer.token,
    );
    expect(codes(badAddress)).toEqual(['BAD_USER_INPUT']);
    await sub('products').graphql(
      'mutation U($id: ID!) { updateProduct(id: $id, input: { active: false }) { id } }',
      { id: product.id },
      adminToken,
    );
    const inactive = await sub('orders').graphql(
      CHECKOUT,
      { input: { shippingAddress: address() } },
      buyer.token,
    );
    expect(codes(inactive)).toEqual(['BAD_USER_INPUT']);
    // Nothing was placed, so the cart keeps its line.
    expect(await itemCount(buyer.token)).toBe(1);
    expect(codes(await sub('orders').graphql(CHECKOUT, { input: { shippingAddress: address() } }))).toEqual([
      'UNAUTHENTICATED',
    ]);
  });
});
