import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@shop/kit';
import type { PrismaClient } from './generated/prisma/client';
import { InventoryRepository } from './inventory.repository';

const PRODUCTS = '{ products(first: 100) { edges { node { id sku } } } }';

/** The demo product whose stock starts near its reorder level (the low-stock demo); the last one otherwise. */
export const NEAR_REORDER_SKU = 'MUG-CERAMIC-350';
export const NEAR_REORDER = { units: 12, reorderLevel: 10, reorderQuantity: 50 };

interface DemoProduct {
  id: string;
  sku: string;
}

/**
 * The catalogue's products, asked of the products subgraph until it answers (it may still be starting: started
 * at once with every other subgraph on a busy 2-core machine, products took over 30 s to answer).
 */
export async function fetchDemoProducts(url: string, timeoutMs = 120_000): Promise<DemoProduct[]> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: PRODUCTS }),
        signal: AbortSignal.timeout(5_000),
      });
      const body = (await response.json()) as {
        data?: { products?: { edges: { node: DemoProduct }[] } };
        errors?: unknown;
      };
      if (body.data?.products) return body.data.products.edges.map((edge) => edge.node);
      lastError = new Error(`products answered ${JSON.stringify(body.errors)}`);
    } catch (error) {
      lastError = error;
    }
    await sleep(500);
  }
  throw new Error(`could not read the demo products from ${url}`, { cause: lastError });
}

/**
 * An inventory item for every product of the catalogue that has none: generous stock, and one item near its
 * reorder level. Items that exist are left as they are, so running it again changes nothing.
 */
export async function seedInventory(
  prisma: PrismaClient,
  options: { productsUrl: string; logger?: Logger; timeoutMs?: number },
): Promise<string> {
  const products = await fetchDemoProducts(options.productsUrl, options.timeoutMs);
  const nearSku = products.some((p) => p.sku === NEAR_REORDER_SKU) ? NEAR_REORDER_SKU : products.at(-1)?.sku;
  let created = 0;
  for (const [index, product] of products.entries()) {
    const near = product.sku === nearSku;
    const units = near ? NEAR_REORDER.units : 100 + ((index * 37) % 150);
    const made = await prisma.$transaction((tx) =>
      new InventoryRepository(tx).createIfMissing(
        {
          productId: product.id,
          sku: product.sku,
          reorderLevel: near ? NEAR_REORDER.reorderLevel : 10,
          reorderQuantity: near ? NEAR_REORDER.reorderQuantity : 50,
        },
        units,
        'Demo stock',
      ),
    );
    if (made) created++;
  }
  return `${created} inventory items created, ${products.length - created} already there (near reorder level: ${nearSku ?? 'none'})`;
}
