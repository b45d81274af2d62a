import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ADD, CART, type CartJson, CLEAR, cartOf, codes, REMOVE, UPDATE, useCartHarness } from './support';

const USER_TTL = 3_600;
const GUEST_TTL = 600;
const h = useCartHarness({
  main: {
    CART_USER_TTL_SECONDS: String(USER_TTL),
    CART_GUEST_TTL_SECONDS: String(GUEST_TTL),
    CART_MAX_QUANTITY: '60',
    CART_MAX_LINES: '3',
    // Every read asks the catalogue, so price changes show at once.
    CART_PRICE_CACHE_TTL_MS: '0',
  },
});

type Vars = Record<string, unknown>;
const call = (query: string, variables: Vars, token?: string) =>
  h.carts.main?.graphql<Record<string, CartJson>>(query, variables, token) ??
  Promise.reject(new Error('no cart subgraph'));
const add = async (variables: Vars, token?: string) =>
  cartOf(await call(ADD, variables, token), 'addCartItem');
const read = async (variables: Vars, token?: string) => cartOf(await call(CART, variables, token), 'cart');

describe('user carts', () => {
  it('adds, prices exactly, updates, removes and clears', async () => {
    const { token, userId } = await h.customer();
    const a = await h.product({ price: '19.99' });
    const b = await h.product({ price: '0.10' });
    await add({ productId: a.id, quantity: 2 }, token);
    const cart = await add({ productId: b.id, quantity: 3 }, token);
    expect(cart).toMatchObject({
      id: userId,
      guest: false,
      currency: 'USD',
      itemCount: 5,
      pricesCurrent: true,
      subtotal: { amount: '40.28', currency: 'USD' },
    });
    expect(cart.items.map((item) => [item.product.id, item.quantity, item.lineTotal.amount])).toEqual([
      [a.id, 2, '39.98'],
      [b.id, 3, '0.30'],
    ]);
    expect(cart.items[0]).toMatchObject({
      unitPrice: { amount: '19.99', currency: 'USD' },
      priceWhenAdded: { amount: '19.99', currency: 'USD' },
      priceChanged: false,
      available: true,
    });

    // Adding again adds to the line.
    expect((await add({ productId: a.id, quantity: 1 }, token)).items[0]?.quantity).toBe(3);
    const updated = cartOf(await call(UPDATE, { productId: a.id, quantity: 1 }, token), 'updateCartItem');
    expect(updated.items[0]?.quantity).toBe(1);
    expect(updated.subtotal.amount).toBe('20.29');
    const removed = cartOf(await call(REMOVE, { productId: b.id }, token), 'removeCartItem');
    expect(removed.items.map((item) => item.product.id)).toEqual([a.id]);
    // Quantity 0 removes the line.
    const emptied = cartOf(await call(UPDATE, { productId: a.id, quantity: 0 }, token), 'updateCartItem');
    expect(emptied).toMatchObject({ items: [], itemCount: 0, subtotal: { amount: '0.00' }, expiresAt: null });

    await add({ productId: a.id, quantity: 1 }, token);
    const cleared = cartOf(await call(CLEAR, {}, token), 'clearCart');
    expect(cleared.items).toEqual([]);
    expect(await h.redis.redis.exists(`cart:${userId}`)).toBe(0);
    // Clearing an empty cart is fine.
    expect(codes(await call(CLEAR, {}, token))).toEqual([]);
  });

  it('stores cart:{userId} with a 7-day-style TTL, refreshed by every write', async () => {
    const { token, userId } = await h.customer();
    const a = await h.product();
    const b = await h.product();
    const key = `cart:${userId}`;
    const cart = await add({ productId: a.id, quantity: 1 }, token);
    const pttl = await h.redis.redis.pttl(key);
    expect(pttl).toBeGreaterThan((USER_TTL - 5) * 1000);
    expect(pttl).toBeLessThanOrEqual(USER_TTL * 1000);
    expect(new Date(cart.expiresAt ?? 0).getTime()).toBeGreaterThan(Date.now() + (USER_TTL - 5) * 1000);

    const writes: [string, Vars][] = [
      [ADD, { productId: b.id, quantity: 1 }],
      [UPDATE, { productId: a.id, quantity: 4 }],
      [REMOVE, { productId: b.id }],
    ];
    for (const [query, variables] of writes) {
      await h.redis.redis.pexpire(key, 5_000);
      expect(codes(await call(query, variables, token))).toEqual([]);
      expect(await h.redis.redis.pttl(key)).toBeGreaterThan((USER_TTL - 5) * 1000);
    }
    // A read is not a change: the TTL runs on.
    await h.redis.redis.pexpire(key, 5_000);
    await read({}, token);
    expect(await h.redis.redis.pttl(key)).toBeLessThanOrEqual(5_000);
  });

  it('keeps every unit of 50 concurrent adds of one product', async () => {
    const { token, userId } = await h.customer();
    const a = await h.product({ price: '1.25' });
    const b = await h.product();
    const responses = await Promise.all(
      // 40 for one line, 10 for another that starts at the same time.
      Array.from({ length: 50 }, (_, i) =>
        call(ADD, { productId: i % 5 === 0 ? b.id : a.id, quantity: 1 }, token),
      ),
    );
    expect(responses.flatMap(codes)).toEqual([]);
    const cart = await read({}, token);
    expect(cart.itemCount).toBe(50);
    expect(cart.items.find((item) => item.product.id === a.id)).toMatchObject({
      quantity: 40,
      lineTotal: { amount: '50.00' },
    });
    expect(cart.items.find((item) => item.product.id === b.id)?.quantity).toBe(10);
    expect(await h.redis.redis.hlen(`cart:${userId}`)).toBe(2);
  });

  it('refuses bad quantities, unknown or inactive products and too many lines, changing nothing', async () => {
    const { token, userId } = await h.customer();
    const a = await h.product();
    await add({ productId: a.id, quantity: 50 }, token);
    const before = await h.redis.redis.hgetall(`cart:${userId}`);

    const inactive = await h.product();
    await h.updateProduct(inactive.id, { active: false });
    const refusals: [string, Vars, string][] = [
      [ADD, { productId: a.id, quantity: 0 }, 'BAD_USER_INPUT'],
      [ADD, { productId: a.id, quantity: -3 }, 'BAD_USER_INPUT'],
      [ADD, { productId: a.id, quantity: 61 }, 'BAD_USER_INPUT'],
      // 50 + 11 is over the line's limit of 60.
      [ADD, { productId: a.id, quantity: 11 }, 'BAD_USER_INPUT'],
      [ADD, { productId: 'not-a-uuid', quantity: 1 }, 'BAD_USER_INPUT'],
      [ADD, { productId: randomUUID(), quantity: 1 }, 'NOT_FOUND'],
      [ADD, { productId: inactive.id, quantity: 1 }, 'NOT_FOUND'],
      [UPDATE, { productId: a.id, quantity: 61 }, 'BAD_USER_INPUT'],
      [UPDATE, { productId: a.id, quantity: -1 }, 'BAD_USER_INPUT'],
      [UPDATE, { productId: randomUUID(), quantity: 1 }, 'NOT_FOUND'],
      [REMOVE, { productId: randomUUID() }, 'NOT_FOUND'],
    ];
    for (const [query, variables, code] of refusals) {
      expect([variables, codes(await call(query, variables, token))]).toEqual([variables, [code]]);
    }
    expect(await h.redis.redis.hgetall(`cart:${userId}`)).toEqual(before);

    // The fourth distinct product is one too many (CART_MAX_LINES=3).
    for (let i = 0; i < 2; i++) await add({ productId: (await h.product()).id, quantity: 1 }, token);
    const fourth = await h.product();
    const refused = await call(ADD, { productId: fourth.id, quantity: 1 }, token);
    expect(codes(refused)).toEqual(['BAD_USER_INPUT']);
    expect(refused.errors?.[0]?.message).toMatch(/at most 3 different products/);
    expect(await h.redis.redis.hlen(`cart:${userId}`)).toBe(3);
  });

  it('shows current prices, flags a changed price, and marks withdrawn products unavailable', async () => {
    const { token } = await h.customer();
    const a = await h.product({ price: '10.00' });
    const b = await h.product({ price: '3.00' });
    await add({ productId: a.id, quantity: 2 }, token);
    await add({ productId: b.id, quantity: 1 }, token);
    await h.updateProduct(a.id, { price: '12.50' });
    await h.updateProduct(b.id, { active: false });

    const cart = await read({}, token);
    expect(cart.items[0]).toMatchObject({
      unitPrice: { amount: '12.50' },
      priceWhenAdded: { amount: '10.00' },
      lineTotal: { amount: '25.00' },
      priceChanged: true,
      available: true,
    });
    expect(cart.items[1]).toMatchObject({ available: false, priceChanged: false });
    expect(cart.subtotal.amount).toBe('28.00');
  });

  it('never shows one user another user cart', async () => {
    const alice = await h.customer();
    const bob = await h.customer();
    const a = await h.product();
    await add({ productId: a.id, quantity: 2 }, alice.token);
    const bobs = await read({}, bob.token);
    expect(bobs).toMatchObject({ id: bob.userId, items: [] });
    // Bob cannot reach Alice's cart by passing her user id as a guest cart id either.
    expect(codes(await call(CART, { guestCartId: alice.userId }, bob.token))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await call(UPDATE, { productId: a.id, quantity: 1 }, bob.token))).toEqual(['NOT_FOUND']);
    expect((await read({}, alice.token)).items[0]?.quantity).toBe(2);
  });
});

describe("orders' checkout query", () => {
  it('gets the lines of the user cart or of a guest cart, with the customer token', async () => {
    const CHECKOUT_CART = `query CheckoutCart($guestCartId: ID) { cart(guestCartId: $guestCartId) { id items { quantity product { id } } } }`;
    const { token, userId } = await h.customer();
    const a = await h.product();
    await add({ productId: a.id, quantity: 2 }, token);
    const guest = await add({ productId: a.id, quantity: 5 });
    const mine = await h.carts.main?.graphql(CHECKOUT_CART, {}, token);
    expect(mine?.data).toEqual({ cart: { id: userId, items: [{ quantity: 2, product: { id: a.id } }] } });
    const guests = await h.carts.main?.graphql(CHECKOUT_CART, { guestCartId: guest.id }, token);
    expect(guests?.data).toEqual({ cart: { id: guest.id, items: [{ quantity: 5, product: { id: a.id } }] } });
  });
});

describe('guest carts', () => {
  it('are created by the first anonymous add, with an unguessable id and the guest TTL', async () => {
    const a = await h.product({ price: '2.50' });
    const created = await add({ productId: a.id, quantity: 2 });
    expect(created).toMatchObject({ guest: true, itemCount: 2, subtotal: { amount: '5.00' } });
    expect(created.id).toMatch(/^[0-9a-f]{32}$/);
    const pttl = await h.redis.redis.pttl(`cart:guest:${created.id}`);
    expect(pttl).toBeGreaterThan((GUEST_TTL - 5) * 1000);
    expect(pttl).toBeLessThanOrEqual(GUEST_TTL * 1000);

    const again = await add({ productId: a.id, quantity: 1, guestCartId: created.id });
    expect(again).toMatchObject({ id: created.id, itemCount: 3 });
    expect((await read({ guestCartId: created.id })).itemCount).toBe(3);
    // Anyone holding the id reaches it (a signed-in user checking out a guest cart, too).
    const { token } = await h.customer();
    expect((await read({ guestCartId: created.id }, token)).itemCount).toBe(3);
    const cleared = cartOf(await call(CLEAR, { guestCartId: created.id }), 'clearCart');
    expect(cleared).toMatchObject({ id: created.id, items: [] });
  });

  it('an anonymous read without an id is a new empty guest cart; each add without an id starts another', async () => {
    const first = await read({});
    const second = await read({});
    expect(first).toMatchObject({ guest: true, items: [], expiresAt: null, subtotal: { amount: '0.00' } });
    expect(first.id).not.toBe(second.id);
    const a = await h.product();
    const one = await add({ productId: a.id, quantity: 1 });
    const two = await add({ productId: a.id, quantity: 1 });
    expect(one.id).not.toBe(two.id);
  });

  it('a guessed or malformed guest id finds nothing', async () => {
    const a = await h.product();
    await add({ productId: a.id, quantity: 1 });
    const guessed = randomBytes(16).toString('hex');
    expect(await read({ guestCartId: guessed })).toMatchObject({ id: guessed, items: [], itemCount: 0 });
    expect(codes(await call(REMOVE, { productId: a.id, guestCartId: guessed }))).toEqual(['NOT_FOUND']);
    for (const malformed of ['abc', '*', `${guessed}0`, 'cart:guest:*']) {
      expect(codes(await call(CART, { guestCartId: malformed }))).toEqual(['BAD_USER_INPUT']);
    }
  });

  it('changing a cart anonymously needs its id', async () => {
    const a = await h.product();
    for (const [query, variables] of [
      [UPDATE, { productId: a.id, quantity: 1 }],
      [REMOVE, { productId: a.id }],
      [CLEAR, {}],
    ] as const) {
      expect(codes(await call(query, variables))).toEqual(['UNAUTHENTICATED']);
    }
  });
});
