import { seedSubgraph } from '@shop/runtime';
import { startTestSubgraphs, type TestSubgraphs } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NEAR_REORDER, NEAR_REORDER_SKU } from '../src/seed';
import { subgraph } from '../src/subgraph';

// The demo seed reads the demo products from the products subgraph (PRODUCTS_URL, as `pnpm start` passes
// it) and gives each an inventory item.

let supergraph: TestSubgraphs;

beforeAll(async () => {
  supergraph = await startTestSubgraphs({ only: ['products', 'inventory'], seed: true });
});
afterAll(async () => {
  await supergraph?.stop();
});

type Products = { products: { edges: { node: { id: string; sku: string } }[] } };
type Items = {
  inventoryItems: {
    edges: {
      node: { sku: string; availableQuantity: number; reorderLevel: number; product: { id: string } };
    }[];
  };
};
const ITEMS = `{ inventoryItems(first: 100) { edges { node { sku availableQuantity reorderLevel product { id } } } } }`;

describe('the inventory seed', () => {
  it('gives every demo product generous stock, and one product stock near its reorder level', async () => {
    const { products, inventory } = supergraph.subgraphs;
    if (!products || !inventory) throw new Error('both subgraphs run');
    const catalogue = await products.graphql<Products>(
      '{ products(first: 100) { edges { node { id sku } } } }',
    );
    const demo = catalogue.data?.products.edges.map((e) => e.node) ?? [];
    expect(demo.length).toBeGreaterThan(0);

    const admin = await supergraph.keys.tokenFor('ADMIN');
    const items = (await inventory.graphql<Items>(ITEMS, {}, admin)).data?.inventoryItems.edges.map(
      (e) => e.node,
    );
    expect(items?.map((i) => i.product.id).sort()).toEqual(demo.map((p) => p.id).sort());
    for (const item of items ?? []) {
      const product = demo.find((p) => p.id === item.product.id);
      expect(item.sku).toBe(product?.sku);
      if (item.sku === NEAR_REORDER_SKU) {
        expect(item).toMatchObject({
          availableQuantity: NEAR_REORDER.units,
          reorderLevel: NEAR_REORDER.reorderLevel,
        });
        expect(item.availableQuantity - item.reorderLevel).toBeLessThanOrEqual(5);
      } else {
        expect(item.availableQuantity).toBeGreaterThanOrEqual(100);
      }
    }
  });

  it('is idempotent: a second run creates nothing and changes nothing', async () => {
    const { inventory } = supergraph.subgraphs;
    if (!inventory) throw new Error('inventory runs');
    const admin = await supergraph.keys.tokenFor('ADMIN');
    const before = await inventory.graphql<Items>(ITEMS, {}, admin);
    const said = await seedSubgraph(subgraph, { env: inventory.env });
    expect(said).toMatch(/^0 inventory items created/);
    const after = await inventory.graphql<Items>(ITEMS, {}, admin);
    expect(after.data).toEqual(before.data);
  });
});
