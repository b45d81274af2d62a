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

const t = (s: string) => new Date(`2026-03-01T10:00:${s}.123Z`);

async function newItem(overrides: Partial<Prisma.InventoryUncheckedCreateInput> = {}) {
  return db.client.inventory.create({
    data: {
      productId: randomUUID(),
      sku: `SKU-${randomUUID().slice(0, 8)}`,
      availableQuantity: 5,
      totalQuantity: 5,
      ...overrides,
    },
  });
}

describe('schema.prisma and the migrations agree', () => {
  it('Inventory: every field explicit, then the defaults', async () => {
    const written = {
      id: randomUUID(),
      productId: randomUUID(),
      sku: 'EXPLICIT-1',
      availableQuantity: 7,
      reservedQuantity: 3,
      totalQuantity: 10,
      reorderLevel: 4,
      reorderQuantity: 40,
      lowStockAlerted: true,
      createdAt: t('01'),
      updatedAt: t('02'),
    };
    await db.client.inventory.create({ data: written });
    const read = await db.client.inventory.findUniqueOrThrow({ where: { id: written.id } });
    expect(Object.keys(read).sort()).toEqual(Object.values(Prisma.InventoryScalarFieldEnum).sort());
    expect(read).toEqual(written);

    const defaults = await newItem();
    expect(defaults).toMatchObject({
      reservedQuantity: 0,
      reorderLevel: 10,
      reorderQuantity: 50,
      lowStockAlerted: false,
    });
    expect(defaults.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('StockReservation and StockTransaction: every field, enums and relations', async () => {
    const item = await newItem();
    const reservation = {
      id: randomUUID(),
      inventoryId: item.id,
      orderId: randomUUID(),
      userId: randomUUID(),
      quantity: 2,
      status: 'COMPLETED' as const,
      expiresAt: t('03'),
      completedAt: t('04'),
      createdAt: t('05'),
      updatedAt: t('06'),
    };
    await db.client.stockReservation.create({ data: reservation });
    const readReservation = await db.client.stockReservation.findUniqueOrThrow({
      where: { id: reservation.id },
    });
    expect(Object.keys(readReservation).sort()).toEqual(
      Object.values(Prisma.StockReservationScalarFieldEnum).sort(),
    );
    expect(readReservation).toEqual(reservation);
    for (const status of ['ACTIVE', 'EXPIRED', 'CANCELLED'] as const) {
      await db.client.stockReservation.create({
        data: {
          inventoryId: item.id,
          orderId: randomUUID(),
          userId: randomUUID(),
          quantity: 1,
          status,
          expiresAt: t('07'),
        },
      });
    }
    // One reservation per order and item.
    await expect(
      db.client.stockReservation.create({
        data: { ...reservation, id: randomUUID() },
      }),
    ).rejects.toMatchObject({ code: 'P2002' });

    const transaction = {
      id: randomUUID(),
      inventoryId: item.id,
      type: 'ADJUSTMENT' as const,
      quantity: -3,
      reference: 'REF',
      notes: 'notes',
      availableAfter: 2,
      reservedAfter: 0,
      totalAfter: 2,
      createdAt: t('08'),
    };
    await db.client.stockTransaction.create({ data: transaction });
    const readTransaction = await db.client.stockTransaction.findUniqueOrThrow({
      where: { id: transaction.id },
    });
    expect(Object.keys(readTransaction).sort()).toEqual(
      Object.values(Prisma.StockTransactionScalarFieldEnum).sort(),
    );
    expect(readTransaction).toEqual(transaction);
    for (const type of ['PURCHASE', 'SALE', 'RETURN', 'DAMAGE', 'RESERVATION', 'RELEASE'] as const) {
      await db.client.stockTransaction.create({
        data: { inventoryId: item.id, type, quantity: 1, availableAfter: 0, reservedAfter: 0, totalAfter: 0 },
      });
    }
    const withRelations = await db.client.inventory.findUniqueOrThrow({
      where: { id: item.id },
      include: { reservations: true, transactions: true },
    });
    expect(withRelations.reservations).toHaveLength(4);
    expect(withRelations.transactions).toHaveLength(7);
  });

  it('OrderStockState: every field, then the defaults', async () => {
    const written = {
      orderId: randomUUID(),
      placement: 'FAILED' as const,
      failureReason: 'INSUFFICIENT_STOCK',
      cancelledAt: t('09'),
      cancelReason: 'CUSTOMER_REQUEST',
      paymentAuthorizedAt: t('10'),
      createdAt: t('11'),
      updatedAt: t('12'),
    };
    await db.client.orderStockState.create({ data: written });
    const read = await db.client.orderStockState.findUniqueOrThrow({ where: { orderId: written.orderId } });
    expect(Object.keys(read).sort()).toEqual(Object.values(Prisma.OrderStockStateScalarFieldEnum).sort());
    expect(read).toEqual(written);
    const defaults = await db.client.orderStockState.create({
      data: { orderId: randomUUID(), placement: 'SKIPPED' },
    });
    expect(defaults).toMatchObject({ failureReason: null, cancelledAt: null, paymentAuthorizedAt: null });
    await db.client.orderStockState.create({ data: { orderId: randomUUID(), placement: 'RESERVED' } });
  });

  it('the outbox and processed-events models read the events tables', async () => {
    await db.client.processedEvent.create({ data: { consumerGroup: 'g', eventId: randomUUID() } });
    expect(await db.client.processedEvent.count()).toBe(1);
    expect(await db.client.outboxEvent.count()).toBe(0);
  });

  it('the CHECK constraints hold the stock equation and refuse negative quantities', async () => {
    const item = await newItem();
    const refused = [
      { availableQuantity: -1, totalQuantity: -1 },
      { reservedQuantity: -1, totalQuantity: 4 },
      { totalQuantity: 6 },
      { reorderLevel: -1 },
    ];
    for (const data of refused) {
      await expect(db.client.inventory.update({ where: { id: item.id }, data })).rejects.toThrow(
        /check constraint/i,
      );
    }
    await expect(
      db.client.stockReservation.create({
        data: {
          inventoryId: item.id,
          orderId: randomUUID(),
          userId: randomUUID(),
          quantity: 0,
          expiresAt: t('13'),
        },
      }),
    ).rejects.toThrow(/check constraint/i);
    expect(await db.client.inventory.findUniqueOrThrow({ where: { id: item.id } })).toMatchObject({
      availableQuantity: 5,
      reservedQuantity: 0,
      totalQuantity: 5,
    });
  });
});
