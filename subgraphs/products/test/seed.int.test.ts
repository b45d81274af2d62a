import { createPrismaAdapter } from '@shop/db';
import { seedSubgraph, subgraphMigrations } from '@shop/runtime';
import { createTestKeys, useMigratedDatabase } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import { demoProducts, seedProducts } from '../src/seed';
import { PrismaClient, subgraph } from '../src/subgraph';

const db = useMigratedDatabase(
  subgraphMigrations(subgraph),
  (url) => new PrismaClient({ adapter: createPrismaAdapter(url) }),
);

describe('seedProducts', () => {
  it('seeds at least 12 valid demo products with stable SKUs and exact prices', async () => {
    const seeded = await seedProducts(db.client);

    expect(seeded.length).toBeGreaterThanOrEqual(12);
    expect(seeded.map((product) => product.sku)).toEqual(demoProducts.map((product) => product.sku));
    for (const product of seeded) {
      expect(product.sku).toMatch(/^[A-Z0-9-]{1,64}$/);
      expect(product.price).toMatch(/^\d+\.\d{2}$/);
      expect(product).toMatchObject({ currency: 'USD', active: true });
    }
    expect(seeded.find((product) => product.sku === 'TSHIRT-CLASSIC-BLK')?.price).toBe('19.99');
  });

  it('is idempotent: running again keeps the same products and brings edits back to demo values', async () => {
    const first = await seedProducts(db.client);
    await db.client.product.update({
      where: { sku: 'MUG-CERAMIC-350' },
      data: { price: '1.00', active: false },
    });

    const second = await seedProducts(db.client);

    expect(await db.client.product.count()).toBe(demoProducts.length);
    expect(second.map(({ id, sku, name, price, active }) => ({ id, sku, name, price, active }))).toEqual(
      first.map(({ id, sku, name, price, active }) => ({ id, sku, name, price, active })),
    );
  });

  it('is the seed of the subgraph definition (what `pnpm start` runs)', async () => {
    const keys = await createTestKeys();
    const said = await seedSubgraph(subgraph, {
      env: { DATABASE_URL: db.database.url, JWT_PUBLIC_KEY: keys.publicKeyPem, LOG_LEVEL: 'silent' },
    });

    expect(said).toContain(`${demoProducts.length} products`);
    expect(await db.client.product.count()).toBe(demoProducts.length);
  });
});
