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

describe('schema.prisma and the migrations agree', () => {
  it('writes and reads every field of Order, OrderItem and OrderStatusHistory with explicit values', async () => {
    const order = {
      id: randomUUID(),
      userId: randomUUID(),
      userEmail: 'ada@example.com',
      userName: 'Ada',
      status: 'SHIPPED' as const,
      currency: 'EUR',
      total: new Prisma.Decimal('9999999999.99'),
      shippingStreet: '1 Main St',
      shippingCity: 'Springfield',
      shippingState: 'IL',
      shippingZipCode: '62701',
      shippingCountry: 'US',
      cancellationReason: 'RESERVATION_EXPIRED' as const,
      stockReservedAt: new Date('2026-02-01T10:00:00.001Z'),
      paymentAuthorizedAt: new Date('2026-02-01T10:00:00.002Z'),
      paymentCapturedAt: new Date('2026-02-01T10:00:00.003Z'),
      refundedAmount: new Prisma.Decimal('12.34'),
      createdAt: new Date('2026-02-01T10:11:12.345Z'),
      updatedAt: new Date('2026-02-02T10:11:12.345Z'),
    };
    await db.client.order.create({ data: order });
    const item = {
      id: randomUUID(),
      orderId: order.id,
      position: 0,
      productId: randomUUID(),
      sku: 'SKU-1',
      name: 'Thing',
      quantity: 3,
      unitPrice: new Prisma.Decimal('0.01'),
    };
    await db.client.orderItem.create({ data: item });
    const entry = {
      id: randomUUID(),
      seq: 41n,
      orderId: order.id,
      fromStatus: 'PAID' as const,
      toStatus: 'SHIPPED' as const,
      reason: 'SHIPPED',
      source: 'shipOrder',
      sourceEventId: randomUUID(),
      actorId: randomUUID(),
      at: new Date('2026-02-03T10:11:12.345Z'),
    };
    await db.client.orderStatusHistory.create({ data: entry });

    const readOrder = await db.client.order.findUniqueOrThrow({ where: { id: order.id } });
    expect(Object.keys(readOrder).sort()).toEqual(Object.values(Prisma.OrderScalarFieldEnum).sort());
    expect(readOrder).toEqual(order);
    const readItem = await db.client.orderItem.findUniqueOrThrow({ where: { id: item.id } });
    expect(Object.keys(readItem).sort()).toEqual(Object.values(Prisma.OrderItemScalarFieldEnum).sort());
    expect(readItem).toEqual(item);
    const readEntry = await db.client.orderStatusHistory.findUniqueOrThrow({ where: { id: entry.id } });
    expect(Object.keys(readEntry).sort()).toEqual(
      Object.values(Prisma.OrderStatusHistoryScalarFieldEnum).sort(),
    );
    expect(readEntry).toEqual(entry);
  });

  it('fills the defaults and keeps one line per product, history rows in sequence', async () => {
    const order = await db.client.order.create({
      data: {
        userId: randomUUID(),
        userEmail: 'b@example.com',
        currency: 'USD',
        total: '5.00',
        shippingStreet: 's',
        shippingCity: 'c',
        shippingState: 'st',
        shippingZipCode: 'z1',
        shippingCountry: 'US',
        history: {
          create: [
            { toStatus: 'PENDING', source: 'placeOrder' },
            { fromStatus: 'PENDING', toStatus: 'PAID', source: 'x' },
          ],
        },
      },
      include: { history: { orderBy: { seq: 'asc' } } },
    });
    expect(order).toMatchObject({
      status: 'PENDING',
      userName: null,
      cancellationReason: null,
      stockReservedAt: null,
      paymentAuthorizedAt: null,
      paymentCapturedAt: null,
    });
    expect(order.refundedAmount.toFixed(2)).toBe('0.00');
    expect(order.history.map((h) => h.toStatus)).toEqual(['PENDING', 'PAID']);
    expect(order.history[1]?.seq).toBeGreaterThan(order.history[0]?.seq ?? 0n);

    const line = {
      orderId: order.id,
      productId: randomUUID(),
      sku: 'A',
      name: 'A',
      quantity: 1,
      unitPrice: '1',
    };
    await db.client.orderItem.create({ data: { ...line, position: 0 } });
    await expect(db.client.orderItem.create({ data: { ...line, position: 1 } })).rejects.toMatchObject({
      code: 'P2002',
    });
    // Lines and history go with their order.
    await db.client.order.delete({ where: { id: order.id } });
    expect(await db.client.orderItem.count({ where: { orderId: order.id } })).toBe(0);
    expect(await db.client.orderStatusHistory.count({ where: { orderId: order.id } })).toBe(0);
  });
});
