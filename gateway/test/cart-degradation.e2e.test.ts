import { AddCartItemDocument, CartDocument, LoginDocument, ProductsDocument } from '@shop/client';
import { postGraphQL } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demo, startTestSupergraph, type TestSupergraph } from './supergraph';

// What checkout asks for, plus the prices: all of it served by the cart subgraph alone.
const CART_LINES = `query CartLines { cart { id itemCount pricesCurrent subtotal { amount }
  items { quantity unitPrice { amount } product { id } } } }`;

describe('the cart through the gateway with the products subgraph stopped', () => {
  let supergraph: TestSupergraph;

  beforeAll(async () => {
    // No price cache: every read asks the catalogue, so the outage shows at once.
    supergraph = await startTestSupergraph({
      only: ['users', 'products', 'cart'],
      env: { CART_PRICE_CACHE_TTL_MS: '0' },
    });
  });

  afterAll(async () => {
    await supergraph?.stop();
  });

  it('still answers the lines at their last known prices when no product field is selected', async () => {
    const { client } = supergraph;
    const { products } = await client.data(ProductsDocument, { first: 1 });
    const product = products.edges[0]?.node;
    if (!product) throw new Error('no demo product');
    const { login } = await client.data(LoginDocument, demo.customer);
    const me = client.as(login.accessToken);
    await me.data(AddCartItemDocument, { productId: product.id, quantity: 2 });

    await supergraph.subgraphs.products?.stop();

    const lines = await postGraphQL<{
      cart: { items: { quantity: number; unitPrice: { amount: string }; product: { id: string } }[] };
    }>(supergraph.gateway.url, CART_LINES, {}, login.accessToken);
    expect(lines.errors).toBeUndefined();
    expect(lines.data?.cart).toMatchObject({
      id: login.user.id,
      itemCount: 2,
      pricesCurrent: false,
      items: [{ quantity: 2, unitPrice: { amount: product.price.amount }, product: { id: product.id } }],
    });
    // Product fields need the products subgraph: only they fail; the cart, its lines and prices still answer.
    const full = await me.request(CartDocument, {});
    expect(full.errors?.length).toBeGreaterThan(0);
    expect(full.data?.cart).toMatchObject({
      itemCount: 2,
      pricesCurrent: false,
      items: [{ quantity: 2, unitPrice: { amount: product.price.amount }, product: null }],
    });
  });
});
