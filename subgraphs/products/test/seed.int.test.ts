import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { useMigratedDatabase } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import { createProductsPrisma, migrationsDir } from '../src/prisma';
import { demoProducts, seedProducts } from '../src/seed';

const projectDir = fileURLToPath(new URL('..', import.meta.url));

const db = useMigratedDatabase(migrationsDir, createProductsPrisma);

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

  it('runs as a script against DATABASE_URL (`pnpm --filter @shop/products seed`)', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/seed.ts'], {
      cwd: projectDir,
      env: { ...process.env, DATABASE_URL: db.database.url },
    });

    expect(stdout).toContain(`seeded ${demoProducts.length} products`);
    expect(await db.client.product.count()).toBe(demoProducts.length);
  });
});
