import { randomUUID } from 'node:crypto';
import { createPrismaAdapter } from '@shop/db';
import { createEvent } from '@shop/events';
import { ProductCatalog } from '@shop/runtime';
import { sampleOrderPlaced, startTestSubgraph, type TestSubgraph, testLogger, waitFor } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InventoryRepository } from '../src/inventory.repository';
import { InventoryService } from '../src/inventory.service';
import { PrismaClient, subgraph } from '../src/subgraph';
import { event, invariantViolations, useInventory } from './support';

// Reservations expire after RESERVATION_TTL_SECONDS (1 s here); the job runs every 200 ms in BOTH launches
// of the subgraph below, over one database: each expired order must be released exactly once.

const inventory = useInventory({
  env: {
    RESERVATION_TTL_SECONDS: '1',
    RESERVATION_EXPIRY_INTERVAL_MS: '200',
    RESERVATION_EXPIRY_BATCH_SIZE: '5',
  },
});
let second: TestSubgraph;

beforeAll(async () => {
  // A second instance: same database, same Kafka prefix (its consumer joins the same group).
  second = await startTestSubgraph(subgraph, {
    keys: inventory.keys,
    ...(inventory.kafka ? { kafka: inventory.kafka } : {}),
    env: {
      DATABASE_URL: inventory.env.DATABASE_URL ?? '',
      PRODUCTS_URL: inventory.products.url,
      RESERVATION_TTL_SECONDS: '1',
      RESERVATION_EXPIRY_INTERVAL_MS: '200',
      RESERVATION_EXPIRY_BATCH_SIZE: '5',
    },
  });
});
afterAll(async () => {
  await second?.stop();
});

function line(productId: string, quantity: number) {
  return { productId, sku: 'X', name: 'Line', quantity, unitPrice: { amount: '1.00', currency: 'USD' } };
}

async function handled(...ids: string[]) {
  await waitFor(
    `events handled`,
    async () =>
      (await inventory.prisma.processedEvent.count({ where: { eventId: { in: ids } } })) === ids.length,
  );
}

const payment = (orderId: string) => ({
  paymentId: randomUUID(),
  orderId,
  userId: randomUUID(),
  amount: { amount: '1.00', currency: 'USD' },
});

describe('the reservation expiry job', () => {
  it('releases each expired reservation once, with two instances running', async () => {
    const a = await inventory.createItem({ availableQuantity: 100 });
    const b = await inventory.createItem({ availableQuantity: 100 });
    const orders = Array.from({ length: 24 }, () =>
      event(
        'order.placed',
        sampleOrderPlaced({ orderId: randomUUID(), items: [line(a.product.id, 2), line(b.product.id, 1)] }),
      ),
    );
    const orderIds = orders.map((o) => (o.data as { orderId: string }).orderId);
    await inventory.publish(...orders);
    await handled(...orders.map((o) => o.id));

    await waitFor(
      'every reservation expired',
      async () =>
        (await inventory.prisma.stockReservation.count({
          where: { orderId: { in: orderIds }, status: 'EXPIRED' },
        })) === 48,
      { timeoutMs: 30_000 },
    );
    expect(await inventory.prisma.inventory.findUniqueOrThrow({ where: { id: a.id } })).toMatchObject({
      availableQuantity: 100,
      reservedQuantity: 0,
      totalQuantity: 100,
    });
    const releases = (await inventory.published('inventory.released')).filter((r) =>
      orderIds.includes(r.orderId),
    );
    expect(releases).toHaveLength(24);
    expect(new Set(releases.map((r) => r.orderId)).size).toBe(24);
    for (const r of releases) expect(r.reason).toBe('EXPIRED');
    // One RELEASE audit row per reservation.
    expect(
      await inventory.prisma.stockTransaction.count({
        where: { type: 'RELEASE', reference: { in: orderIds } },
      }),
    ).toBe(48);
    expect(await invariantViolations(inventory.prisma)).toEqual([]);
  });

  it('two concurrent runs of the job function over one database release each order once', async () => {
    const a = await inventory.createItem({ availableQuantity: 100 });
    const orderIds: string[] = Array.from({ length: 30 }, () => randomUUID());
    // Reservations that expired long ago, written as the placement handler writes them.
    const services = [0, 1].map(() => {
      const prisma = new PrismaClient({ adapter: createPrismaAdapter(inventory.env.DATABASE_URL ?? '') });
      return {
        prisma,
        service: new InventoryService(
          new InventoryRepository(prisma, { source: 'inventory' }),
          new ProductCatalog({ url: inventory.products.url }),
          { reservationTtlMs: -60_000 },
          testLogger('inventory'),
        ),
      };
    });
    const [first] = services;
    if (!first) throw new Error('no service');
    // The two launched jobs may claim some of these too: the assertion is on the total, once per order.
    for (const orderId of orderIds) {
      await first.service.onOrderPlaced(
        createEvent('order.placed', sampleOrderPlaced({ orderId, items: [line(a.product.id, 1)] }), {
          source: 'orders',
        }),
      );
    }
    await Promise.all(
      services.flatMap(({ service }) => Array.from({ length: 4 }, () => service.expireReservations(5))),
    );
    await waitFor(
      'all expired',
      async () =>
        (await inventory.prisma.stockReservation.count({
          where: { orderId: { in: orderIds }, status: 'EXPIRED' },
        })) === 30,
    );
    const releases = (await inventory.published('inventory.released')).filter((r) =>
      orderIds.includes(r.orderId),
    );
    expect(releases).toHaveLength(30);
    expect(await inventory.prisma.inventory.findUniqueOrThrow({ where: { id: a.id } })).toMatchObject({
      availableQuantity: 100,
      reservedQuantity: 0,
    });
    await Promise.all(services.map(({ prisma }) => prisma.$disconnect()));
  });

  it('a payment after the expiry takes the units again when they are still available', async () => {
    const a = await inventory.createItem({ availableQuantity: 10 });
    const orderId = randomUUID();
    const e = event('order.placed', sampleOrderPlaced({ orderId, items: [line(a.product.id, 3)] }));
    await inventory.publish(e);
    await handled(e.id);
    await waitFor('expired', async () =>
      (await inventory.prisma.stockReservation.findMany({ where: { orderId } })).every(
        (r) => r.status === 'EXPIRED',
      ),
    );
    const paid = event('payment.authorized', payment(orderId), 'payments');
    await inventory.publish(paid);
    await handled(paid.id);
    expect(await inventory.prisma.inventory.findUniqueOrThrow({ where: { id: a.id } })).toMatchObject({
      availableQuantity: 7,
      reservedQuantity: 0,
      totalQuantity: 7,
    });
    expect((await inventory.prisma.stockReservation.findFirstOrThrow({ where: { orderId } })).status).toBe(
      'COMPLETED',
    );
    expect(
      (await inventory.published('inventory.reservation-failed')).filter((f) => f.orderId === orderId),
    ).toEqual([]);
    expect(await invariantViolations(inventory.prisma)).toEqual([]);
  });

  it('a payment after the expiry, when the units are gone, publishes EXPIRED_BEFORE_PAYMENT and sells nothing', async () => {
    const a = await inventory.createItem({ availableQuantity: 3 });
    const orderId = randomUUID();
    const e = event('order.placed', sampleOrderPlaced({ orderId, items: [line(a.product.id, 3)] }));
    await inventory.publish(e);
    await handled(e.id);
    await waitFor('expired', async () =>
      (await inventory.prisma.stockReservation.findMany({ where: { orderId } })).every(
        (r) => r.status === 'EXPIRED',
      ),
    );
    // Another order takes the units meanwhile.
    const other = event(
      'order.placed',
      sampleOrderPlaced({ orderId: randomUUID(), items: [line(a.product.id, 2)] }),
    );
    await inventory.publish(other);
    await handled(other.id);
    const paid = event('payment.authorized', payment(orderId), 'payments');
    await inventory.publish(paid);
    await handled(paid.id);
    expect(
      (await inventory.published('inventory.reservation-failed')).filter((f) => f.orderId === orderId),
    ).toEqual([{ orderId, reason: 'EXPIRED_BEFORE_PAYMENT', productIds: [a.product.id] }]);
    const now = await inventory.prisma.inventory.findUniqueOrThrow({ where: { id: a.id } });
    expect(now.totalQuantity).toBe(3);
    expect((await inventory.prisma.stockReservation.findFirstOrThrow({ where: { orderId } })).status).toBe(
      'EXPIRED',
    );
  });
});

describe('no overselling under real concurrency', () => {
  it('200 placements handled 20 at a time for 50 units reserve exactly 50', async () => {
    const a = await inventory.createItem({ availableQuantity: 50 });
    const prisma = new PrismaClient({ adapter: createPrismaAdapter(inventory.env.DATABASE_URL ?? '') });
    // TTL long enough that the launched jobs leave these reservations alone.
    const service = new InventoryService(
      new InventoryRepository(prisma, { source: 'inventory' }),
      new ProductCatalog({ url: inventory.products.url }),
      { reservationTtlMs: 600_000 },
      testLogger('inventory'),
    );
    const orderIds: string[] = Array.from({ length: 200 }, () => randomUUID());
    // 20 handlers at a time, all fighting over one row (more would only queue for the client's 10
    // connections, past Prisma's wait for a transaction: the Kafka consumer retries those, this test need not).
    const queue = [...orderIds];
    const results: PromiseSettledResult<void>[] = [];
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        for (let orderId = queue.pop(); orderId !== undefined; orderId = queue.pop()) {
          const placed = createEvent(
            'order.placed',
            sampleOrderPlaced({ orderId, items: [line(a.product.id, 1)] }),
            {
              source: 'orders',
            },
          );
          results.push(
            await service.onOrderPlaced(placed).then(
              () => ({ status: 'fulfilled', value: undefined }) as const,
              (reason: unknown) => ({ status: 'rejected', reason }) as const,
            ),
          );
        }
      }),
    );
    await prisma.$disconnect();
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(await inventory.prisma.inventory.findUniqueOrThrow({ where: { id: a.id } })).toMatchObject({
      availableQuantity: 0,
      reservedQuantity: 50,
      totalQuantity: 50,
    });
    const ids = new Set(orderIds);
    expect((await inventory.published('inventory.reserved')).filter((r) => ids.has(r.orderId))).toHaveLength(
      50,
    );
    expect(
      (await inventory.published('inventory.reservation-failed')).filter((r) => ids.has(r.orderId)),
    ).toHaveLength(150);
    expect(await invariantViolations(inventory.prisma)).toEqual([]);
  });
});
