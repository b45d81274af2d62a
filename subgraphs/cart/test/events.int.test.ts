import { randomUUID } from 'node:crypto';
import { createEvent } from '@shop/events';
import { sampleOrderPlaced, waitFor } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import { ADD, CART, type CartJson, cartOf, useCartHarness } from './support';

// A long price cache: only product.changed can make a new price show quickly.
const h = useCartHarness({ main: { CART_PRICE_CACHE_TTL_MS: '600000' } });

const call = (query: string, variables: Record<string, unknown>, token?: string) => {
  const cart = h.carts.main;
  if (!cart) throw new Error('no cart subgraph');
  return cart.graphql<Record<string, CartJson>>(query, variables, token);
};
const add = async (productId: string, quantity: number, token?: string, guestCartId?: string) =>
  cartOf(await call(ADD, { productId, quantity, guestCartId }, token), 'addCartItem');
const read = async (token?: string, guestCartId?: string) =>
  cartOf(await call(CART, { guestCartId }, token), 'cart');

function orderOf(
  userId: string,
  items: { productId: string; quantity: number }[],
  cart?: { guestCartId?: string },
) {
  return sampleOrderPlaced({
    userId,
    items: items.map((item) => ({
      ...item,
      sku: 'SKU-1',
      name: 'Product',
      unitPrice: { amount: '1.00', currency: 'USD' },
    })),
    ...(cart ? { cart } : {}),
  });
}

describe('order.placed', () => {
  it('takes the ordered units out of the user cart once, even when the event comes twice', async () => {
    const { token, userId } = await h.customer();
    const [a, b] = [await h.product(), await h.product()];
    await add(a.id, 2, token);
    await add(b.id, 1, token);
    const order = orderOf(
      userId,
      [
        { productId: a.id, quantity: 2 },
        { productId: b.id, quantity: 1 },
      ],
      {},
    );
    await h.publish('order.placed', order);
    await waitFor('the cart emptied', async () => (await read(token)).items.length === 0);

    // Put something in after checkout, then the same order arrives again (a redelivery with the same event
    // id, and a new event id for the same order): neither takes anything out twice.
    await add(a.id, 3, token);
    const { token: otherToken, userId: otherId } = await h.customer();
    await add(a.id, 1, otherToken);
    const redelivered = createEvent('order.placed', order, { source: 'orders' });
    const again = createEvent('order.placed', order, { source: 'orders' });
    // A marker after them on the same key (so the same partition): once it is handled, the others were too.
    const marker = createEvent('order.placed', orderOf(otherId, [{ productId: a.id, quantity: 1 }], {}), {
      source: 'orders',
    });
    const producer = await h.kafka.connection.producer();
    await producer.send({
      topic: h.kafka.connection.topic('order.placed'),
      messages: [redelivered, redelivered, again, marker].map((event) => ({
        key: order.orderId,
        value: JSON.stringify(event),
      })),
    });
    await waitFor('the marker handled', async () => (await read(otherToken)).items.length === 0);
    expect((await read(token)).items.map((item) => item.quantity)).toEqual([3]);
  });

  it('clears the guest cart the order names, and leaves carts alone for orders placed directly', async () => {
    const { token, userId } = await h.customer();
    const p = await h.product();
    const guest = await add(p.id, 2);
    await add(p.id, 1, token);
    // Placed directly: no `cart`.
    await h.publish('order.placed', orderOf(userId, [{ productId: p.id, quantity: 1 }]));
    await h.publish(
      'order.placed',
      orderOf(userId, [{ productId: p.id, quantity: 2 }], { guestCartId: guest.id }),
    );
    await waitFor('the guest cart emptied', async () => (await read(undefined, guest.id)).items.length === 0);
    expect(await h.redis.redis.exists(`cart:guest:${guest.id}`)).toBe(0);
    expect((await read(token)).items.map((item) => item.quantity)).toEqual([1]);
  });

  it('a malformed guest cart id in an order is skipped, not retried forever', async () => {
    const { token, userId } = await h.customer();
    const p = await h.product();
    await add(p.id, 1, token);
    await h.publish(
      'order.placed',
      orderOf(userId, [{ productId: p.id, quantity: 1 }], { guestCartId: 'x' }),
    );
    await h.publish('order.placed', orderOf(userId, [{ productId: p.id, quantity: 1 }], {}));
    await waitFor('the user cart emptied', async () => (await read(token)).items.length === 0);
  });
});

describe('product.changed', () => {
  it('makes a new price show at once despite the price cache', async () => {
    const { token } = await h.customer();
    const p = await h.product({ price: '4.00' });
    await add(p.id, 1, token);
    expect((await read(token)).items[0]?.unitPrice.amount).toBe('4.00');
    await h.updateProduct(p.id, { price: '4.50' });
    await waitFor('the new price', async () => (await read(token)).items[0]?.unitPrice.amount === '4.50');
    expect((await read(token)).items[0]).toMatchObject({
      priceChanged: true,
      priceWhenAdded: { amount: '4.00' },
    });
  });

  it('for a product no cart holds changes nothing', async () => {
    // A product.changed for a product no cart holds changes nothing.
    await h.publish('product.changed', {
      productId: randomUUID(),
      sku: 'GHOST-1',
      name: 'Ghost',
      price: { amount: '1.00', currency: 'USD' },
      active: true,
      change: 'UPDATED',
    });
    const { token } = await h.customer();
    expect((await read(token)).items).toEqual([]);
  });
});
