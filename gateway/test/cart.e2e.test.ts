import {
  AddCartItemDocument,
  CartDocument,
  ClearCartDocument,
  LoginDocument,
  MergeGuestCartDocument,
  ProductsDocument,
  RemoveCartItemDocument,
  UpdateCartItemDocument,
} from '@shop/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demo, startTestSupergraph, type TestSupergraph } from './supergraph';

const codes = (result: { errors?: readonly { extensions?: Record<string, unknown> }[] | undefined }) =>
  result.errors?.map((e) => e.extensions?.code);

describe('the cart through the gateway', () => {
  let supergraph: TestSupergraph;

  beforeAll(async () => {
    supergraph = await startTestSupergraph({ only: ['users', 'products', 'cart'] });
  });

  afterAll(async () => {
    await supergraph?.stop();
  });

  async function twoProducts() {
    const { products } = await supergraph.client.data(ProductsDocument, { first: 2 });
    const [first, second] = products.edges.map((edge) => edge.node);
    if (!first || !second) throw new Error('the demo seed has fewer than 2 products');
    return [first, second] as const;
  }

  it("walks through the specification's cart: login, add, get, update, remove", async () => {
    const { client } = supergraph;
    const [first, second] = await twoProducts();
    const { login } = await client.data(LoginDocument, demo.customer);
    const me = client.as(login.accessToken);
    await me.data(ClearCartDocument, {});

    await me.data(AddCartItemDocument, { productId: first.id, quantity: 2 });
    const { addCartItem } = await me.data(AddCartItemDocument, { productId: second.id, quantity: 1 });
    expect(addCartItem).toMatchObject({ id: login.user.id, guest: false, itemCount: 3, pricesCurrent: true });

    const { cart } = await me.data(CartDocument, {});
    // Product fields come from the products subgraph, prices from the cart's own reading of them.
    expect(cart.items.map((item) => [item.product?.id, item.product?.name, item.quantity])).toEqual([
      [first.id, first.name, 2],
      [second.id, second.name, 1],
    ]);
    expect(cart.items[0]?.unitPrice).toEqual(first.price);
    const cents = (amount: string) => Math.round(Number(amount) * 100);
    expect(cents(cart.subtotal.amount)).toBe(cents(first.price.amount) * 2 + cents(second.price.amount));
    expect(new Date(cart.expiresAt ?? 0).getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);

    const { updateCartItem } = await me.data(UpdateCartItemDocument, { productId: first.id, quantity: 5 });
    expect(updateCartItem.items[0]).toMatchObject({ quantity: 5 });
    expect(updateCartItem.itemCount).toBe(6);

    const { removeCartItem } = await me.data(RemoveCartItemDocument, { productId: second.id });
    expect(removeCartItem.items.map((item) => item.product?.id)).toEqual([first.id]);

    const { clearCart } = await me.data(ClearCartDocument, {});
    expect(clearCart).toMatchObject({ items: [], itemCount: 0, expiresAt: null });
  });

  it('keeps an anonymous guest cart and merges it into the customer cart at login', async () => {
    const { client } = supergraph;
    const [first, second] = await twoProducts();
    const { addCartItem: guest } = await client.data(AddCartItemDocument, {
      productId: first.id,
      quantity: 1,
    });
    expect(guest.guest).toBe(true);
    await client.data(AddCartItemDocument, { productId: second.id, quantity: 2, guestCartId: guest.id });

    const { login } = await client.data(LoginDocument, demo.customer);
    const me = client.as(login.accessToken);
    await me.data(ClearCartDocument, {});
    await me.data(AddCartItemDocument, { productId: first.id, quantity: 1 });
    const { mergeGuestCart } = await me.data(MergeGuestCartDocument, { guestCartId: guest.id });
    // Lines are in the order their products were first added to either cart.
    expect(
      Object.fromEntries(mergeGuestCart.items.map((item) => [item.product?.name, item.quantity])),
    ).toEqual({
      [first.name]: 2,
      [second.name]: 2,
    });
    // The guest cart is gone; merging again changes nothing.
    expect((await client.data(CartDocument, { guestCartId: guest.id })).cart.items).toEqual([]);
    const again = await me.data(MergeGuestCartDocument, { guestCartId: guest.id });
    expect(again.mergeGuestCart.itemCount).toBe(4);
    await me.data(ClearCartDocument, {});
  });

  it('answers refusals with codes', async () => {
    const { client } = supergraph;
    const [first] = await twoProducts();
    expect(codes(await client.request(MergeGuestCartDocument, { guestCartId: 'f'.repeat(32) }))).toEqual([
      'UNAUTHENTICATED',
    ]);
    expect(codes(await client.request(AddCartItemDocument, { productId: first.id, quantity: 0 }))).toEqual([
      'BAD_USER_INPUT',
    ]);
    expect(codes(await client.request(UpdateCartItemDocument, { productId: first.id, quantity: 1 }))).toEqual(
      ['UNAUTHENTICATED'],
    );
  });
});
