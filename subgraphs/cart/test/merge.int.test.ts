import { describe, expect, it } from 'vitest';
import { ADD, CART, type CartJson, cartOf, codes, MERGE, useCartHarness } from './support';

const limits = { CART_MAX_QUANTITY: '10', CART_MAX_LINES: '3' };
const h = useCartHarness({
  MERGE: { ...limits, CART_MERGE_STRATEGY: 'MERGE' },
  KEEP_USER: { ...limits, CART_MERGE_STRATEGY: 'KEEP_USER' },
  KEEP_GUEST: { ...limits, CART_MERGE_STRATEGY: 'KEEP_GUEST' },
});

type Strategy = 'MERGE' | 'KEEP_USER' | 'KEEP_GUEST';

function client(strategy: Strategy) {
  const call = (query: string, variables: Record<string, unknown>, token?: string) => {
    const cart = h.carts[strategy];
    if (!cart) throw new Error(`no ${strategy} cart subgraph`);
    return cart.graphql<Record<string, CartJson>>(query, variables, token);
  };
  return {
    call,
    add: async (productId: string, quantity: number, as: { token?: string; guestCartId?: string }) =>
      cartOf(await call(ADD, { productId, quantity, guestCartId: as.guestCartId }, as.token), 'addCartItem'),
    merge: (guestCartId: string, token: string) => call(MERGE, { guestCartId }, token),
  };
}

const lines = (cart: CartJson) => cart.items.map((item) => [item.product.id, item.quantity]);

/** A user cart {a: 2, b: 9} and a guest cart {b: 4, c: 1}, with products a, b, c. */
async function arrange(strategy: Strategy) {
  const c = client(strategy);
  const user = await h.customer();
  const [a, b, p3] = [await h.product(), await h.product(), await h.product()];
  await c.add(a.id, 2, user);
  await c.add(b.id, 9, user);
  const guest = await c.add(b.id, 4, {});
  await c.add(p3.id, 1, { guestCartId: guest.id });
  return { c, user, guestCartId: guest.id, a: a.id, b: b.id, c3: p3.id };
}

describe('mergeGuestCart', () => {
  it('MERGE: quantities add up, capped at the line limit; new lines are added; the guest cart is gone', async () => {
    const { c, user, guestCartId, a, b, c3 } = await arrange('MERGE');
    const merged = cartOf(await c.merge(guestCartId, user.token), 'mergeGuestCart');
    expect(merged).toMatchObject({ id: user.userId, guest: false });
    expect(lines(merged)).toEqual([
      [a, 2],
      [b, 10],
      [c3, 1],
    ]);
    expect(await h.redis.redis.exists(`cart:guest:${guestCartId}`)).toBe(0);
    // The merged cart was written: its TTL is the user TTL again.
    expect(await h.redis.redis.pttl(`cart:${user.userId}`)).toBeGreaterThan(6 * 86_400_000);

    // A second call is a no-op.
    const again = cartOf(await c.merge(guestCartId, user.token), 'mergeGuestCart');
    expect(lines(again)).toEqual(lines(merged));
    const guestNow = cartOf(await c.call(CART, { guestCartId }), 'cart');
    expect(guestNow.items).toEqual([]);
  });

  it('MERGE: guest lines beyond the cart line limit are left out', async () => {
    const c = client('MERGE');
    const user = await h.customer();
    const products = await Promise.all(Array.from({ length: 5 }, () => h.product()));
    const ids = products.map((p) => p.id);
    for (const id of ids.slice(0, 2)) await c.add(id, 1, user);
    const guest = await c.add(ids[2] as string, 1, {});
    for (const id of ids.slice(3)) await c.add(id, 1, { guestCartId: guest.id });
    const merged = cartOf(await c.merge(guest.id, user.token), 'mergeGuestCart');
    expect(merged.items).toHaveLength(3);
    // The user's two lines, then the guest's oldest line.
    expect(merged.items.map((item) => item.product.id)).toEqual(ids.slice(0, 3));
  });

  it('KEEP_USER: a non-empty user cart stays as it is; the guest cart is dropped', async () => {
    const { c, user, guestCartId, a, b } = await arrange('KEEP_USER');
    const merged = cartOf(await c.merge(guestCartId, user.token), 'mergeGuestCart');
    expect(lines(merged)).toEqual([
      [a, 2],
      [b, 9],
    ]);
    expect(await h.redis.redis.exists(`cart:guest:${guestCartId}`)).toBe(0);
  });

  it('KEEP_USER: an empty user cart takes the guest lines', async () => {
    const c = client('KEEP_USER');
    const user = await h.customer();
    const p = await h.product();
    const guest = await c.add(p.id, 3, {});
    const merged = cartOf(await c.merge(guest.id, user.token), 'mergeGuestCart');
    expect(lines(merged)).toEqual([[p.id, 3]]);
  });

  it('KEEP_GUEST: the guest cart replaces the user cart; a second call keeps it', async () => {
    const { c, user, guestCartId, b, c3 } = await arrange('KEEP_GUEST');
    const merged = cartOf(await c.merge(guestCartId, user.token), 'mergeGuestCart');
    expect(lines(merged)).toEqual([
      [b, 4],
      [c3, 1],
    ]);
    const again = cartOf(await c.merge(guestCartId, user.token), 'mergeGuestCart');
    expect(lines(again)).toEqual(lines(merged));
  });

  it('needs a signed-in user and a well-formed guest cart id', async () => {
    const c = client('MERGE');
    const guest = await c.add((await h.product()).id, 1, {});
    expect(codes(await c.call(MERGE, { guestCartId: guest.id }))).toEqual(['UNAUTHENTICATED']);
    const user = await h.customer();
    expect(codes(await c.merge('nope', user.token))).toEqual(['BAD_USER_INPUT']);
    // The refused calls left the guest cart alone.
    expect(cartOf(await c.call(CART, { guestCartId: guest.id }), 'cart').itemCount).toBe(1);
  });
});
