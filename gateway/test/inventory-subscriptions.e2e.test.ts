import { createGraphQLWsClient, type GraphQLWsClient, WebSocket } from '@shop/kit';
import { postGraphQL, uniqueSku, waitFor } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSupergraph, type TestSupergraph } from './supergraph';

// The acceptance of the subscriptions issue for inventory: the real inventory subgraph (its Kafka feed), products
// for the fields the alert selects, one subscription through the gateway.

const ALERTS = `subscription { lowStockAlerts { availableQuantity inventoryItem { sku product { name price { amount } } } } }`;
const CREATE_PRODUCT = `mutation P($input: CreateProductInput!) { createProduct(input: $input) { id name } }`;
const CREATE_INVENTORY = `mutation I($input: CreateInventoryInput!) { createInventory(input: $input) { id sku } }`;
const ADJUST = `mutation A($id: ID!, $input: AdjustStockInput!) { adjustStock(inventoryId: $id, input: $input) { id } }`;

type Alert = {
  data?: {
    lowStockAlerts: {
      availableQuantity: number;
      inventoryItem: { sku: string; product: { name: string; price: { amount: string } } };
    };
  };
  errors?: unknown[];
};

describe('inventory subscriptions through the gateway', () => {
  let supergraph: TestSupergraph;
  let admin: string;
  const clients: GraphQLWsClient[] = [];

  beforeAll(async () => {
    supergraph = await startTestSupergraph({ only: ['users', 'products', 'inventory'] });
    admin = await supergraph.keys.tokenFor('ADMIN');
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await supergraph?.stop();
  });

  async function send<D>(query: string, variables: Record<string, unknown>): Promise<D> {
    const result = await postGraphQL<D>(supergraph.gateway.url, query, variables, admin);
    if (!result.data || result.errors) throw new Error(JSON.stringify(result.errors));
    return result.data;
  }

  function subscribe(token: string) {
    const client = createGraphQLWsClient({
      url: supergraph.gateway.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
    });
    clients.push(client);
    const values: Alert[] = [];
    const errors: unknown[] = [];
    client.subscribe(
      { query: ALERTS },
      { next: (value) => values.push(value as Alert), error: (e) => errors.push(e), complete: () => {} },
    );
    return { values, errors };
  }

  it('lowStockAlerts reaches every admin once per crossing, hydrated with product fields, over one upstream', async () => {
    const name = `Low stock ${uniqueSku()}`;
    const { createProduct } = await send<{ createProduct: { id: string } }>(CREATE_PRODUCT, {
      input: { name, sku: uniqueSku(), price: '12.50' },
    });
    const sku = uniqueSku('INV');
    const { createInventory } = await send<{ createInventory: { id: string } }>(CREATE_INVENTORY, {
      input: {
        productId: createProduct.id,
        sku,
        availableQuantity: 12,
        reorderLevel: 10,
        reorderQuantity: 60,
      },
    });
    const first = subscribe(admin);
    const second = subscribe(await supergraph.keys.tokenFor('ADMIN'));
    const mine = (values: Alert[]) => values.filter((v) => v.data?.lowStockAlerts.inventoryItem.sku === sku);
    // One crossing down to 9 (an alert), then back up to 12 (re-armed).
    const crossing = async () => {
      await send(ADJUST, { id: createInventory.id, input: { quantity: -3, type: 'SALE' } });
      await send(ADJUST, { id: createInventory.id, input: { quantity: 3, type: 'RETURN' } });
    };
    // The subscription reaches the subgraph's feed at a moment the client cannot see: cross until alerts flow.
    let crossings = 0;
    await waitFor(
      'the first alert for both admins',
      async () => {
        if (mine(first.values).length > 0 && mine(second.values).length > 0) return true;
        crossings += 1;
        await crossing();
        return false;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(mine(first.values)[0]).toEqual({
      data: {
        lowStockAlerts: {
          availableQuantity: 9,
          inventoryItem: { sku, product: { name, price: { amount: '12.50' } } },
        },
      },
    });
    // Identical admin subscriptions share one upstream stream (lowStockAlerts is shared by default).
    expect(supergraph.gateway.subscriptions.streams.stats()).toMatchObject({ streams: 1, subscribers: 2 });
    const before = [mine(first.values).length, mine(second.values).length];
    expect(before[0]).toBeLessThanOrEqual(crossings);
    await crossing();
    await crossing();
    await waitFor(
      'two more alerts each',
      () =>
        mine(first.values).length === (before[0] ?? 0) + 2 &&
        mine(second.values).length === (before[1] ?? 0) + 2,
    );
    // Exactly once: nothing more arrives for those two crossings.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(mine(first.values)).toHaveLength((before[0] ?? 0) + 2);
    expect(mine(second.values)).toHaveLength((before[1] ?? 0) + 2);
    expect([...first.errors, ...second.errors]).toEqual([]);
  });

  it('refuses lowStockAlerts to a customer with FORBIDDEN', async () => {
    const customer = subscribe(await supergraph.keys.tokenFor('CUSTOMER'));
    await waitFor('the refusal', () => customer.values.length > 0 || customer.errors.length > 0);
    expect(JSON.stringify([...customer.values, ...customer.errors])).toContain('FORBIDDEN');
  });
});
