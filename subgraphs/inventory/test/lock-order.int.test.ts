import { randomUUID } from 'node:crypto';
import { createEvent, type EventEnvelope } from '@shop/events';
import { ProductCatalog } from '@shop/runtime';
import { sampleOrderPlaced, testLogger } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import { InventoryRepository } from '../src/inventory.repository';
import { InventoryService } from '../src/inventory.service';
import { invariantViolations, useInventory } from './support';

// The consumer handles several partitions at once, so handlers of different orders run concurrently and
// take the same items' row locks. Orders listing the same products in opposite orders must not deadlock:
// every path locks an order's items in one statement, in id order. The handlers are called directly, four
// at once on real Postgres (every one of them on all four rows); a deadlock would reject one of them
// (Postgres aborts a transaction of the cycle), a lost update would break the stock equation.

const inventory = useInventory();
const STOCK = 1_000;
/**
 * Handlers in flight at once, as many as the consumer runs (defaultPartitionConcurrency): more would queue
 * on the four rows past Prisma's 5 s transaction timeout on a busy machine, a failure that is not a deadlock.
 */
const CONCURRENCY = 4;

/** Runs every task, `CONCURRENCY` at a time; the outcome of each. */
async function allAtOnce(tasks: (() => Promise<void>)[]): Promise<PromiseSettledResult<void>[]> {
  const results: PromiseSettledResult<void>[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < tasks.length; i = next++) {
        results[i] = await (tasks[i] as () => Promise<void>)().then(
          (value) => ({ status: 'fulfilled', value }) as const,
          (reason: unknown) => ({ status: 'rejected', reason }) as const,
        );
      }
    }),
  );
  return results;
}

function line(productId: string) {
  return { productId, sku: 'X', name: 'Line', quantity: 1, unitPrice: { amount: '1.00', currency: 'USD' } };
}

describe('row-lock order under concurrent multi-product handlers', () => {
  it('reserves, sells and releases orders listing the same products in opposite orders, without a deadlock', async () => {
    const service = new InventoryService(
      new InventoryRepository(inventory.prisma, { source: 'inventory' }),
      new ProductCatalog({ url: inventory.products.url }),
      { reservationTtlMs: 15 * 60_000 },
      testLogger('inventory-lock-order'),
    );
    const items = await Promise.all(
      [0, 1, 2, 3].map(() => inventory.createItem({ availableQuantity: STOCK, reorderLevel: 0 })),
    );
    const forwards = items.map((item) => item.product.id);
    const backwards = [...forwards].reverse();
    const placements = Array.from(
      { length: 24 },
      (_, i) =>
        createEvent(
          'order.placed',
          sampleOrderPlaced({ items: (i % 2 === 0 ? forwards : backwards).map(line) }),
          { source: 'orders' },
        ) as EventEnvelope<'order.placed'>,
    );

    const placed = await allAtOnce(placements.map((event) => () => service.onOrderPlaced(event)));
    expect(placed.filter((result) => result.status === 'rejected')).toEqual([]);
    for (const item of items) {
      expect(await inventory.prisma.inventory.findUniqueOrThrow({ where: { id: item.id } })).toMatchObject({
        availableQuantity: STOCK - placements.length,
        reservedQuantity: placements.length,
      });
    }

    // Then half are paid (sold) and half cancelled (released), all at once, again in opposite orders.
    const settled = await allAtOnce(
      placements.map((event, i) => () => {
        const { orderId, userId } = event.data;
        return i % 4 < 2
          ? service.onPaymentAuthorized(
              createEvent(
                'payment.authorized',
                { paymentId: randomUUID(), orderId, userId, amount: { amount: '4.00', currency: 'USD' } },
                { source: 'payments' },
              ) as EventEnvelope<'payment.authorized'>,
            )
          : service.onOrderCancelled(
              createEvent(
                'order.cancelled',
                { orderId, userId, reason: 'CUSTOMER_REQUEST' },
                { source: 'orders' },
              ) as EventEnvelope<'order.cancelled'>,
            );
      }),
    );
    expect(settled.filter((result) => result.status === 'rejected')).toEqual([]);
    const sold = placements.filter((_, i) => i % 4 < 2).length;
    for (const item of items) {
      expect(await inventory.prisma.inventory.findUniqueOrThrow({ where: { id: item.id } })).toMatchObject({
        availableQuantity: STOCK - sold,
        reservedQuantity: 0,
        totalQuantity: STOCK - sold,
      });
    }
    expect(await invariantViolations(inventory.prisma)).toEqual([]);
  });
});
