import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrismaClient } from '../src/generated/prisma/client';
import { createProductsPrisma, migrationsDir } from '../src/prisma';
import { demoProducts, seedProducts } from '../src/seed';

const projectDir = fileURLToPath(new URL('..', import.meta.url));

let database: TestDatabase;
let prisma: PrismaClient;

beforeAll(async () => {
  database = await createTestDatabase(migrationsDir);
  prisma = createProductsPrisma(database.url);
});
afterAll(async () => {
  await prisma?.$disconnect();
  await database?.drop();
});

describe('seedProducts', () => {
  it('seeds at least 12 valid demo products with stable SKUs and exact prices', async () => {
    const seeded = await seedProducts(prisma);

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
    const first = await seedProducts(prisma);
    await prisma.product.update({
      where: { sku: 'MUG-CERAMIC-350' },
      data: { price: '1.00', active: false },
    });

    const second = await seedProducts(prisma);

    expect(await prisma.product.count()).toBe(demoProducts.length);
    expect(second.map(({ id, sku, name, price, active }) => ({ id, sku, name, price, active }))).toEqual(
      first.map(({ id, sku, name, price, active }) => ({ id, sku, name, price, active })),
    );
  });

  it('runs as a script against DATABASE_URL (`pnpm --filter @shop/products seed`)', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/seed.ts'], {
      cwd: projectDir,
      env: { ...process.env, DATABASE_URL: database.url },
    });

    expect(stdout).toContain(`seeded ${demoProducts.length} products`);
    expect(await prisma.product.count()).toBe(demoProducts.length);
  });
});
