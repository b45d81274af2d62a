import { randomUUID } from 'node:crypto';
import { createPrismaAdapter } from '@shop/db';
import { codes, useSubgraph } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import { PrismaClient, subgraph } from '../src/subgraph';
import { address } from './support';

// With the catalogue or the cart unreachable, placing an order is refused SERVICE_UNAVAILABLE (retry shortly;
// where and why only in the log), never as the client's mistake, and nothing is written or published.

const nowhere = 'http://127.0.0.1:9/graphql';
const orders = useSubgraph(subgraph, {
  env: { PRODUCTS_URL: nowhere, CART_URL: nowhere, UPSTREAM_TIMEOUT_MS: '500' },
});

describe('when the catalogue or the cart does not answer', () => {
  it('refuses placeOrder and checkout with SERVICE_UNAVAILABLE and writes nothing', async () => {
    const token = await orders.keys.tokenFor('CUSTOMER');
    const place = await orders.graphql(
      'mutation P($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }',
      { input: { items: [{ productId: randomUUID(), quantity: 1 }], shippingAddress: address() } },
      token,
    );
    expect(codes(place)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(place.errors?.[0]?.message).toBe(
      'The product catalogue service is not answering; try again shortly',
    );
    expect(JSON.stringify(place.errors)).not.toContain('127.0.0.1');

    const checkout = await orders.graphql(
      'mutation C($input: CheckoutInput!) { checkout(input: $input) { id } }',
      { input: { shippingAddress: address() } },
      token,
    );
    expect(codes(checkout)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(checkout.errors?.[0]?.message).toBe('The cart service is not answering; try again shortly');
    expect(JSON.stringify(checkout.errors)).not.toContain('127.0.0.1');

    if (!orders.database) throw new Error('orders uses postgres');
    const prisma = new PrismaClient({ adapter: createPrismaAdapter(orders.database.url) });
    try {
      expect(await prisma.order.count()).toBe(0);
      const outbox = await prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM outbox_events`;
      expect(outbox[0]?.n).toBe(0);
    } finally {
      await prisma.$disconnect();
    }
  });
});
