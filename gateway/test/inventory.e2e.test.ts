import { randomUUID } from 'node:crypto';
import { codes, postGraphQL, sampleOrderPlaced, waitFor } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSupergraph, type TestSupergraph } from './supergraph';

// The inventory subgraph through the gateway: Product { inventory inStock } next to the products subgraph's
// fields, admin operations refused to customers, and stock reserved by an order.placed event.

let supergraph: TestSupergraph;

beforeAll(async () => {
  supergraph = await startTestSupergraph({ only: ['users', 'products', 'inventory'] });
});
afterAll(async () => {
  await supergraph?.stop();
});

type Catalogue = {
  products: {
    edges: {
      node: {
        id: string;
        sku: string;
        name: string;
        inStock: boolean;
        inventory: {
          id: string;
          availableQuantity: number;
          reservedQuantity: number;
          lowStock: boolean;
        } | null;
      };
    }[];
  };
};
const CATALOGUE = `{ products(first: 100) { edges { node {
  id sku name inStock inventory { id availableQuantity reservedQuantity lowStock } } } } }`;

async function catalogue(token?: string) {
  const response = await postGraphQL<Catalogue>(supergraph.gateway.url, CATALOGUE, {}, token);
  expect(response.errors).toBeUndefined();
  return response.data?.products.edges.map((e) => e.node) ?? [];
}

describe('inventory through the gateway', () => {
  it('every seeded product shows its stock to anonymous visitors; one is near its reorder level', async () => {
    const products = await catalogue();
    expect(products.length).toBeGreaterThan(0);
    for (const product of products) {
      expect(product.inventory).not.toBeNull();
      expect(product.inStock).toBe(true);
    }
    const mug = products.find((p) => p.sku === 'MUG-CERAMIC-350');
    expect(mug?.inventory).toMatchObject({ availableQuantity: 12, lowStock: false });
  });

  it('admins list items with product fields from the products subgraph; customers get FORBIDDEN', async () => {
    const admin = await supergraph.keys.tokenFor('ADMIN');
    const customer = await supergraph.keys.tokenFor('CUSTOMER');
    const LIST = '{ inventoryItems(first: 5) { edges { node { sku product { name price { amount } } } } } }';
    const listed = await postGraphQL<{
      inventoryItems: { edges: { node: { sku: string; product: { name: string } } }[] };
    }>(supergraph.gateway.url, LIST, {}, admin);
    expect(listed.errors).toBeUndefined();
    expect(listed.data?.inventoryItems.edges[0]?.node.product.name).toEqual(expect.any(String));
    expect(codes(await postGraphQL(supergraph.gateway.url, LIST, {}, customer))).toEqual(['FORBIDDEN']);

    const [first] = await catalogue();
    const adjust = await postGraphQL(
      supergraph.gateway.url,
      'mutation A($id: ID!) { adjustStock(inventoryId: $id, input: { quantity: 5, type: PURCHASE }) { id } }',
      { id: first?.inventory?.id },
      customer,
    );
    expect(codes(adjust)).toEqual(['FORBIDDEN']);
  });

  it('an order.placed reserves stock, seen on the product through the gateway', async () => {
    const products = await catalogue();
    const product = products.find((p) => p.sku !== 'MUG-CERAMIC-350');
    if (!product?.inventory) throw new Error('no seeded product');
    const before = product.inventory;
    const data = sampleOrderPlaced({
      orderId: randomUUID(),
      items: [
        {
          productId: product.id,
          sku: product.sku,
          name: product.name,
          quantity: 3,
          unitPrice: { amount: '1.00', currency: 'USD' },
        },
      ],
    });
    const producer = await supergraph.kafka.connection.producer();
    await producer.send({
      topic: supergraph.kafka.connection.topic('order.placed'),
      messages: [
        {
          // The envelope the orders subgraph's outbox publishes (the gateway does not depend on @shop/events).
          key: data.orderId,
          value: JSON.stringify({
            id: randomUUID(),
            type: 'order.placed',
            version: 1,
            occurredAt: new Date().toISOString(),
            source: 'orders',
            correlationId: randomUUID(),
            data,
          }),
        },
      ],
    });
    const after = await waitFor('the reservation', async () => {
      const now = (await catalogue()).find((p) => p.id === product.id)?.inventory;
      return now && now.reservedQuantity === before.reservedQuantity + 3 ? now : undefined;
    });
    expect(after.availableQuantity).toBe(before.availableQuantity - 3);
  });
});
