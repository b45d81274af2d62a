import { randomUUID } from 'node:crypto';
import { waitFor } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import {
  address,
  codes,
  eventsOf,
  type OrderJson,
  outboxCount,
  PLACE_ORDER,
  placeOrder,
  useOrders,
} from './support';

// Three lines at most here, so "too many lines" is cheap to show.
const harness = useOrders({ env: { MAX_ORDER_LINES: '3', MAX_LINE_QUANTITY: '10' } });

const UPDATE_PRODUCT = `mutation U($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { id } }`;

describe('placeOrder', () => {
  it('prices the order from the catalogue, keeps the lines as sold and publishes order.placed once', async () => {
    const placed = await harness.readTopic('order.placed');
    const customer = await harness.customer('Grace Hopper');
    const tee = await harness.product('19.99');
    const mug = await harness.product('0.10');

    const order = await placeOrder(harness, customer, [
      { productId: tee.id, quantity: 3 },
      { productId: mug.id, quantity: 1 },
    ]);

    expect(order).toMatchObject({
      status: 'PENDING',
      user: { id: customer.viewer.userId },
      total: { amount: '60.07', currency: 'USD' },
      shippingAddress: { ...address(), country: 'US' },
      cancellationReason: null,
      stockReserved: false,
      paymentAuthorized: false,
      items: [
        {
          product: { id: tee.id },
          sku: tee.sku,
          quantity: 3,
          unitPrice: { amount: '19.99', currency: 'USD' },
          lineTotal: { amount: '59.97', currency: 'USD' },
        },
        { product: { id: mug.id }, quantity: 1, unitPrice: { amount: '0.10', currency: 'USD' } },
      ],
      statusHistory: [{ from: null, to: 'PENDING', source: 'placeOrder' }],
    });

    await waitFor('order.placed', () => eventsOf(placed, order.id).length > 0);
    const [event] = eventsOf(placed, order.id);
    expect(event).toMatchObject({
      type: 'order.placed',
      version: 1,
      source: 'orders',
      data: {
        orderId: order.id,
        userId: customer.viewer.userId,
        userEmail: customer.viewer.email,
        userName: 'Grace Hopper',
        total: { amount: '60.07', currency: 'USD' },
        items: [
          { productId: tee.id, sku: tee.sku, name: tee.name, quantity: 3, unitPrice: { amount: '19.99' } },
          { productId: mug.id, quantity: 1 },
        ],
        shippingAddress: { ...address(), country: 'US' },
      },
    });
    // Only a checkout carries the cart to clear.
    expect(event?.data).not.toHaveProperty('cart');
    expect(placed.messages.filter((m) => m.key?.toString() === order.id)).toHaveLength(1);
  });

  it('never believes a price sent by the client: the input has no price field', async () => {
    const customer = await harness.customer();
    const product = await harness.product('5.00');
    const response = await harness.post(
      PLACE_ORDER,
      {
        input: {
          items: [{ productId: product.id, quantity: 1, unitPrice: '0.01' }],
          shippingAddress: address(),
        },
      },
      customer,
    );
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses unknown or inactive products, bad quantities, too many lines and bad addresses, publishing nothing', async () => {
    const customer = await harness.customer();
    const [a, b, c, d] = await Promise.all([
      harness.product(),
      harness.product(),
      harness.product(),
      harness.product(),
    ]);
    if (!a || !b || !c || !d) throw new Error('no products');
    const inactive = await harness.product();
    await harness.products.graphql(
      UPDATE_PRODUCT,
      { id: inactive.id, input: { active: false } },
      harness.admin.token,
    );
    const unknown = randomUUID();
    const before = await outboxCount(harness.prisma);
    const ordersBefore = await harness.prisma.order.count();

    const attempts: { items: { productId: string; quantity: number }[]; shippingAddress?: unknown }[] = [
      { items: [{ productId: unknown, quantity: 1 }] },
      {
        items: [
          { productId: a.id, quantity: 1 },
          { productId: inactive.id, quantity: 1 },
        ],
      },
      { items: [{ productId: a.id, quantity: 0 }] },
      { items: [{ productId: a.id, quantity: -2 }] },
      { items: [{ productId: a.id, quantity: 11 }] },
      { items: [] },
      {
        items: [a, b, c, d].map((product) => ({ productId: product.id, quantity: 1 })),
      },
      {
        items: [
          { productId: a.id, quantity: 1 },
          { productId: a.id, quantity: 2 },
        ],
      },
      { items: [{ productId: 'not-a-uuid', quantity: 1 }] },
      { items: [{ productId: a.id, quantity: 1 }], shippingAddress: { ...address(), country: 'USA' } },
      { items: [{ productId: a.id, quantity: 1 }], shippingAddress: { ...address(), street: '   ' } },
      { items: [{ productId: a.id, quantity: 1 }], shippingAddress: { ...address(), zipCode: '!' } },
    ];
    for (const attempt of attempts) {
      const response = await harness.post(
        PLACE_ORDER,
        { input: { shippingAddress: address(), ...attempt } },
        customer,
      );
      expect(codes(response), JSON.stringify(attempt)).toEqual(['BAD_USER_INPUT']);
    }
    const named = await harness.post(
      PLACE_ORDER,
      { input: { shippingAddress: address(), items: [{ productId: unknown, quantity: 1 }] } },
      customer,
    );
    expect(named.errors?.[0]?.message).toContain(unknown);
    const inactiveNamed = await harness.post(
      PLACE_ORDER,
      { input: { shippingAddress: address(), items: [{ productId: inactive.id, quantity: 1 }] } },
      customer,
    );
    expect(inactiveNamed.errors?.[0]?.message).toContain(inactive.id);

    expect(await outboxCount(harness.prisma)).toBe(before);
    expect(await harness.prisma.order.count()).toBe(ordersBefore);
  });

  it('needs a signed-in customer', async () => {
    const product = await harness.product();
    const response = await harness.post(PLACE_ORDER, {
      input: { items: [{ productId: product.id, quantity: 1 }], shippingAddress: address() },
    });
    expect(codes(response)).toEqual(['UNAUTHENTICATED']);
  });

  it('prices with the catalogue of the moment: a later price change leaves the order as sold', async () => {
    const customer = await harness.customer();
    const product = await harness.product('7.00');
    const order: OrderJson = await placeOrder(harness, customer, [{ productId: product.id, quantity: 2 }]);
    await harness.products.graphql(
      UPDATE_PRODUCT,
      { id: product.id, input: { price: '9.00' } },
      harness.admin.token,
    );
    const again = await harness.post<{ order: OrderJson }>(
      'query O($id: ID!) { order(id: $id) { total { amount } items { unitPrice { amount } } } }',
      { id: order.id },
      customer,
    );
    expect(again.data?.order).toEqual({
      total: { amount: '14.00' },
      items: [{ unitPrice: { amount: '7.00' } }],
    });
    const newer = await placeOrder(harness, customer, [{ productId: product.id, quantity: 2 }]);
    expect(newer.total.amount).toBe('18.00');
  });
});
