import {
  graphqlData,
  type Subscribed,
  startTestReplica,
  subscribeOverWs,
  type TestSubgraph,
  testLogger,
  uniqueSku,
  waitFor,
} from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeSupergraph } from '../src/compose';
import { type RunningGateway, startGateway } from '../src/gateway';
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
  const subscriptions: Subscribed<Alert>[] = [];

  beforeAll(async () => {
    supergraph = await startTestSupergraph({ only: ['users', 'products', 'inventory'] });
    admin = await supergraph.keys.tokenFor('ADMIN');
  });

  afterAll(async () => {
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
    await supergraph?.stop();
  });

  const send = <D>(query: string, variables: Record<string, unknown>, gateway = supergraph.gateway) =>
    graphqlData<D>(gateway.url, query, variables, admin);

  function subscribe(token: string, gateway: RunningGateway = supergraph.gateway) {
    const subscription = subscribeOverWs<Alert>(gateway.wsUrl, ALERTS, {}, token);
    subscriptions.push(subscription);
    return subscription;
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

  it('with two inventory instances behind two gateways, every subscriber gets every alert exactly once', async () => {
    // The earlier tests' subscribers leave first, so the stream counts below are this test's.
    await Promise.all(subscriptions.splice(0).map((subscription) => subscription.close()));
    await waitFor(
      'the earlier subscriptions to end',
      () => supergraph.gateway.subscriptions.streams.stats().subscribers === 0,
    );
    // A scaled-out deployment: a second inventory instance on the same database, topics and Redis, its own
    // feed consumer group and outbox relay; a second gateway whose inventory upstream is that instance.
    const replica = await startTestReplica(supergraph.subgraphs.inventory as TestSubgraph);
    const urls = Object.fromEntries(Object.entries(supergraph.subgraphs).map(([name, sg]) => [name, sg.url]));
    const { supergraphSdl } = await composeSupergraph({ ...urls, inventory: replica.url });
    const second = await startGateway({
      supergraphSdl,
      port: 0,
      host: '127.0.0.1',
      tokenVerifier: supergraph.keys.verifier,
      logger: testLogger('gateway-2'),
    });
    try {
      const { createProduct } = await send<{ createProduct: { id: string } }>(CREATE_PRODUCT, {
        input: { name: `Scaled ${uniqueSku()}`, sku: uniqueSku(), price: '3.00' },
      });
      const sku = uniqueSku('INV');
      const { createInventory } = await send<{ createInventory: { id: string } }>(CREATE_INVENTORY, {
        input: {
          productId: createProduct.id,
          sku,
          availableQuantity: 12,
          reorderLevel: 10,
          reorderQuantity: 5,
        },
      });
      const gateways = [supergraph.gateway, second];
      // Two admins on each gateway, so each instance's feed serves subscribers.
      const subscribers: ReturnType<typeof subscribe>[] = [];
      for (const gateway of gateways) {
        for (let i = 0; i < 2; i += 1)
          subscribers.push(subscribe(await supergraph.keys.tokenFor('ADMIN'), gateway));
      }
      // Crossing `depth` takes the item from 12 down to 12 - depth (below the level of 10), then back: the alert's
      // availableQuantity says which crossing it reports. Each crossing's writes go through the given gateway,
      // so both instances write, relay and consume.
      const quantities = (values: Alert[]) =>
        values
          .filter((v) => v.data?.lowStockAlerts.inventoryItem.sku === sku)
          .map((v) => v.data?.lowStockAlerts.availableQuantity);
      const cross = async (depth: number, gateway: RunningGateway) => {
        await send(ADJUST, { id: createInventory.id, input: { quantity: -depth, type: 'SALE' } }, gateway);
        await send(ADJUST, { id: createInventory.id, input: { quantity: depth, type: 'RETURN' } }, gateway);
      };
      // Warm-up crossings (depth 3, quantity 9) until both feeds deliver to every subscriber.
      await waitFor(
        'a first alert for every subscriber',
        async () => {
          if (subscribers.every((s) => quantities(s.values).includes(9))) return true;
          await cross(3, supergraph.gateway);
          return false;
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      // The measured crossings alternate between the instances: quantities 8, 7, 6, 5.
      const depths = [4, 5, 6, 7];
      for (const [i, depth] of depths.entries()) await cross(depth, gateways[i % 2] as RunningGateway);
      const expected = depths.map((depth) => 12 - depth);
      const measured = (s: { values: Alert[] }) => quantities(s.values).filter((q) => (q ?? 9) < 9);
      await waitFor('every measured alert at every subscriber', () =>
        subscribers.every((s) => measured(s).length >= expected.length),
      );
      // Exactly once: nothing more arrives (no doubled publish by the two relays, no doubled feed delivery).
      await new Promise((resolve) => setTimeout(resolve, 1000));
      for (const s of subscribers) {
        expect(measured(s)).toEqual(expected);
        expect(s.errors).toEqual([]);
      }
      // Each gateway carries its subscribers on one shared upstream stream, to its own inventory instance.
      for (const gateway of gateways) {
        expect(gateway.subscriptions.streams.stats()).toMatchObject({ streams: 1, subscribers: 2 });
      }
    } finally {
      await Promise.all(subscriptions.splice(0).map((subscription) => subscription.close()));
      await second.stop();
      await replica.stop();
    }
  });
});
