import { subscribeOverWs, waitFor } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import { useInventory } from './support';

// Subscriptions are served by the subgraph itself, fed by its own broadcast feeds (Kafka consumers that read
// inventory.low-stock and inventory.stock-changed as the relay publishes them).

const inventory = useInventory();

const ADJUST = `mutation A($id: ID!, $input: AdjustStockInput!) { adjustStock(inventoryId: $id, input: $input) { id } }`;

/**
 * A subscriber only receives what happens after its subscription reached the feed, which the client cannot
 * see: repeat a harmless `poke` until the first value arrives.
 */
async function untilFirstValue(values: unknown[], poke: () => Promise<unknown>) {
  await waitFor(
    'the first value',
    async () => {
      if (values.length > 0) return true;
      await poke();
      return false;
    },
    { timeoutMs: 20_000, intervalMs: 300 },
  );
}

describe('subscriptions', () => {
  it('lowStockAlerts: admins receive each crossing with the item as it is', async () => {
    const item = await inventory.createItem({ availableQuantity: 12, reorderLevel: 10, reorderQuantity: 60 });
    const feed = subscribeOverWs(
      inventory.wsUrl,
      `subscription { lowStockAlerts { availableQuantity reorderLevel reorderQuantity occurredAt
        inventoryItem { id sku availableQuantity } } }`,
      {},
      inventory.adminToken,
    );
    // Each poke is one crossing down to 9 (an alert), then back to 12 (re-armed).
    await untilFirstValue(feed.values, async () => {
      await inventory.post(ADJUST, { id: item.id, input: { quantity: -3, type: 'SALE' } }, 'admin');
      await inventory.post(ADJUST, { id: item.id, input: { quantity: 3, type: 'RETURN' } }, 'admin');
    });
    expect(feed.values[0]).toEqual({
      data: {
        lowStockAlerts: {
          availableQuantity: 9,
          reorderLevel: 10,
          reorderQuantity: 60,
          occurredAt: expect.any(String),
          inventoryItem: { id: item.id, sku: item.sku, availableQuantity: expect.any(Number) },
        },
      },
    });
    await feed.close();
  });

  it('lowStockAlerts refuses customers (FORBIDDEN) and anonymous callers (UNAUTHENTICATED)', async () => {
    const customer = subscribeOverWs(
      inventory.wsUrl,
      'subscription { lowStockAlerts { availableQuantity } }',
      {},
      inventory.customerToken,
    );
    await customer.ended;
    expect(customer.values).toEqual([
      { data: null, errors: [expect.objectContaining({ extensions: { code: 'FORBIDDEN' } })] },
    ]);
    await customer.close();
    const anonymous = subscribeOverWs(
      inventory.wsUrl,
      'subscription { lowStockAlerts { availableQuantity } }',
    );
    await anonymous.ended;
    expect(anonymous.values).toEqual([
      { data: null, errors: [expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED' } })] },
    ]);
    await anonymous.close();
  });

  it('inventoryChanged(productId): every change of that product, with the quantities after it', async () => {
    const item = await inventory.createItem({ availableQuantity: 50 });
    const other = await inventory.createItem({ availableQuantity: 50 });
    const feed = subscribeOverWs(
      inventory.wsUrl,
      'subscription C($id: ID!) { inventoryChanged(productId: $id) { id availableQuantity reservedQuantity totalQuantity } }',
      { id: item.product.id },
    );
    await untilFirstValue(feed.values, () =>
      inventory.post(ADJUST, { id: item.id, input: { quantity: 1, type: 'ADJUSTMENT' } }, 'admin'),
    );
    await waitFor('the pokes delivered', async () => {
      const now = await inventory.prisma.inventory.findUniqueOrThrow({ where: { id: item.id } });
      const last = feed.values.at(-1)?.data?.inventoryChanged as { availableQuantity: number } | undefined;
      return last?.availableQuantity === now.availableQuantity;
    });
    feed.values.length = 0;
    const start = (await inventory.prisma.inventory.findUniqueOrThrow({ where: { id: item.id } }))
      .availableQuantity;
    await inventory.post(ADJUST, { id: other.id, input: { quantity: 1, type: 'PURCHASE' } }, 'admin');
    await inventory.post(ADJUST, { id: item.id, input: { quantity: 5, type: 'PURCHASE' } }, 'admin');
    await inventory.post(ADJUST, { id: item.id, input: { quantity: -2, type: 'DAMAGE' } }, 'admin');
    await waitFor('two changes', () => feed.values.length >= 2, { timeoutMs: 20_000 });
    expect(feed.values.map((v) => v.data?.inventoryChanged)).toEqual([
      { id: item.id, availableQuantity: start + 5, reservedQuantity: 0, totalQuantity: start + 5 },
      { id: item.id, availableQuantity: start + 3, reservedQuantity: 0, totalQuantity: start + 3 },
    ]);
    await feed.close();
  });
});
