import { randomUUID } from 'node:crypto';
import { createPrismaAdapter } from '@shop/db';
import { subgraphMigrations } from '@shop/runtime';
import { useMigratedDatabase } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import { Prisma, PrismaClient } from '../src/generated/prisma/client';
import { subgraph } from '../src/subgraph';

// prisma/schema.prisma and the hand-written migration SQL must agree: every field of every model is
// written and read back through the generated client against the migrated database.

const db = useMigratedDatabase(
  subgraphMigrations(subgraph),
  (url) => new PrismaClient({ adapter: createPrismaAdapter(url) }),
);

describe('schema.prisma and the migrations agree on Product', () => {
  it('writes and reads every field with explicit values', async () => {
    const written = {
      id: randomUUID(),
      name: 'Explicit',
      description: 'Every column set',
      sku: 'EXPLICIT-1',
      price: new Prisma.Decimal('9999999999.99'),
      currency: 'EUR',
      active: false,
      createdAt: new Date('2026-02-01T10:11:12.345Z'),
      updatedAt: new Date('2026-02-02T10:11:12.345Z'),
    };
    await db.client.product.create({ data: written });

    const read = await db.client.product.findUniqueOrThrow({ where: { id: written.id } });

    // Every scalar field of the model, so a field added to schema.prisma but not to the SQL fails here.
    expect(Object.keys(read).sort()).toEqual(Object.values(Prisma.ProductScalarFieldEnum).sort());
    expect(read).toEqual(written);
    expect(read.price.toFixed(2)).toBe('9999999999.99');
  });

  it('fills the defaults: uuid, USD, active, timestamps; description may be null', async () => {
    const before = Date.now();
    const created = await db.client.product.create({
      data: { name: 'Defaults', sku: 'DEFAULTS-1', price: '0.01' },
    });

    expect(created.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(created).toMatchObject({ currency: 'USD', active: true, description: null });
    expect(created.price.toFixed(2)).toBe('0.01');
    expect(created.createdAt.getTime()).toBeGreaterThanOrEqual(before - 1_000);
    expect(created.updatedAt.getTime()).toBeGreaterThanOrEqual(before - 1_000);

    const updated = await db.client.product.update({ where: { id: created.id }, data: { name: 'Changed' } });
    expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(created.updatedAt.getTime());
    expect(updated.createdAt).toEqual(created.createdAt);
  });

  it('keeps SKUs unique and prices to two decimals (rounded by the column, exactly)', async () => {
    await db.client.product.create({ data: { name: 'One', sku: 'UNIQUE-1', price: '1.00' } });
    await expect(
      db.client.product.create({ data: { name: 'Two', sku: 'UNIQUE-1', price: '1.00' } }),
    ).rejects.toMatchObject({ code: 'P2002' });

    const rounded = await db.client.product.create({
      data: { name: 'Round', sku: 'ROUND-1', price: '0.125' },
    });
    expect(rounded.price.toFixed(2)).toBe('0.13');
  });

  it('has the keyset index on (created_at, id)', async () => {
    const indexes = await db.client.$queryRaw<{ indexname: string; indexdef: string }[]>`
      SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'products' ORDER BY indexname`;
    expect(indexes.map((index) => index.indexname)).toEqual([
      'products_created_at_id_idx',
      'products_pkey',
      'products_sku_key',
    ]);
    expect(indexes[0]?.indexdef).toContain('(created_at, id)');
  });
});
