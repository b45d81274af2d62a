import { describe, expect, it } from 'vitest';
import { ADD, CART, type CartJson, cartOf, codes, useCartHarness } from './support';

const h = useCartHarness({ main: { CART_PRICE_CACHE_TTL_MS: '0', CART_PRODUCTS_TIMEOUT_MS: '1000' } });

const call = (query: string, variables: Record<string, unknown>, token?: string) => {
  const cart = h.carts.main;
  if (!cart) throw new Error('no cart subgraph');
  return cart.graphql<Record<string, CartJson>>(query, variables, token);
};

const CHECKOUT_CART = `query CheckoutCart($guestCartId: ID) { cart(guestCartId: $guestCartId) { id items { quantity product { id } } } }`;

describe('with the products subgraph stopped', () => {
  it('cart still returns its lines at the last known prices; changes that need the catalogue are refused', async () => {
    const { token } = await h.customer();
    const p = await h.product({ price: '8.00' });
    const q = await h.product({ price: '1.10' });
    cartOf(await call(ADD, { productId: p.id, quantity: 2 }, token), 'addCartItem');
    cartOf(await call(ADD, { productId: q.id, quantity: 3 }, token), 'addCartItem');
    // The last known price is the one read last, not the one when added.
    await h.updateProduct(p.id, { price: '9.00' });
    expect(cartOf(await call(CART, {}, token), 'cart').subtotal.amount).toBe('21.30');

    await h.products.stop();

    const response = await call(CART, {}, token);
    expect(response.errors).toBeUndefined();
    const cart = cartOf(response, 'cart');
    expect(cart).toMatchObject({ pricesCurrent: false, itemCount: 5, subtotal: { amount: '21.30' } });
    expect(cart.items.map((item) => [item.product.id, item.unitPrice.amount, item.priceChanged])).toEqual([
      [p.id, '9.00', true],
      [q.id, '1.10', false],
    ]);
    // Checkout's query (orders re-prices on its own) still gets the lines.
    const checkout = await call(CHECKOUT_CART, {}, token);
    expect(checkout.data?.cart?.items).toEqual([
      { quantity: 2, product: { id: p.id } },
      { quantity: 3, product: { id: q.id } },
    ]);
    // Adding cannot check the product: refused, retryable (SERVICE_UNAVAILABLE), and nothing changes.
    const refused = await call(ADD, { productId: p.id, quantity: 1 }, token);
    expect(codes(refused)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(cartOf(await call(CART, {}, token), 'cart').itemCount).toBe(5);
  });
});
