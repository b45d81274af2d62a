import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort, startTestReplica } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import {
  errorCodes,
  ITEM_FIELDS,
  type ItemJson,
  invariantViolations,
  uniqueSku,
  useInventory,
} from './support';

const inventory = useInventory();

const CREATE = `mutation C($input: CreateInventoryInput!) { createInventory(input: $input) { ${ITEM_FIELDS} } }`;
const UPDATE = `mutation U($id: ID!, $input: UpdateInventoryInput!) { updateInventory(id: $id, input: $input) { ${ITEM_FIELDS} } }`;
const ADJUST = `mutation A($id: ID!, $input: AdjustStockInput!) { adjustStock(inventoryId: $id, input: $input) { ${ITEM_FIELDS} } }`;
const ITEMS = `query I($first: Int, $after: String, $low: Boolean) {
  inventoryItems(first: $first, after: $after, lowStockOnly: $low) {
    edges { cursor node { id sku } } pageInfo { hasNextPage endCursor }
  }
}`;
const HISTORY = `query H($productId: ID!, $first: Int, $after: String) {
  inventoryByProduct(productId: $productId) {
    id
    transactions(first: $first, after: $after) {
      edges { node { type quantity reference notes availableAfter reservedAfter totalAfter createdAt } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

async function snapshot() {
  const [items, transactions, outbox] = await Promise.all([
    inventory.prisma.inventory.findMany({ orderBy: { id: 'asc' } }),
    inventory.prisma.stockTransaction.count(),
    inventory.prisma.outboxEvent.count(),
  ]);
  return { items, transactions, outbox };
}

describe('createInventory', () => {
  it('creates the item with its initial units as a PURCHASE, defaults for the reorder settings', async () => {
    const productId = (await inventory.createProduct()).id;
    const sku = uniqueSku().toLowerCase();
    const response = await inventory.post<{ createInventory: ItemJson }>(
      CREATE,
      { input: { productId, sku, availableQuantity: 40 } },
      'admin',
    );
    expect(response.errors).toBeUndefined();
    expect(response.data?.createInventory).toMatchObject({
      sku: sku.toUpperCase(),
      availableQuantity: 40,
      reservedQuantity: 0,
      totalQuantity: 40,
      reorderLevel: 10,
      reorderQuantity: 50,
      lowStock: false,
      product: { id: productId },
    });
    const id = response.data?.createInventory.id ?? '';
    const audit = await inventory.prisma.stockTransaction.findMany({ where: { inventoryId: id } });
    expect(audit).toMatchObject([{ type: 'PURCHASE', quantity: 40, availableAfter: 40, totalAfter: 40 }]);
    expect(
      (await inventory.published('inventory.stock-changed')).filter((e) => e.inventoryId === id),
    ).toEqual([expect.objectContaining({ availableQuantity: 40, totalQuantity: 40, cause: 'PURCHASE' })]);
  });

  it('refuses a second item for the same product or SKU with CONFLICT', async () => {
    const item = await inventory.createItem();
    const again = await inventory.post(
      CREATE,
      { input: { productId: item.product.id, sku: uniqueSku(), availableQuantity: 1 } },
      'admin',
    );
    expect(errorCodes(again)).toEqual(['CONFLICT']);
    const sameSku = await inventory.post(
      CREATE,
      { input: { productId: (await inventory.createProduct()).id, sku: item.sku, availableQuantity: 1 } },
      'admin',
    );
    expect(errorCodes(sameSku)).toEqual(['CONFLICT']);
  });

  it('refuses the id of no product with NOT_FOUND on productId, and writes and publishes nothing', async () => {
    const before = await snapshot();
    for (const productId of [randomUUID(), '00000000-0000-0000-0000-000000000000']) {
      const response = await inventory.post(
        CREATE,
        { input: { productId, sku: uniqueSku(), availableQuantity: 5 } },
        'admin',
      );
      expect(errorCodes(response)).toEqual(['NOT_FOUND']);
      expect(response.errors?.[0]?.extensions).toMatchObject({ field: 'productId' });
    }
    expect(await snapshot()).toEqual(before);
  });

  it('accepts an unpublished (inactive) product: an admin stocks it before publishing it', async () => {
    const product = await inventory.createProduct({ active: false });
    const item = await inventory.createItem({ productId: product.id, availableQuantity: 7 });
    expect(item).toMatchObject({ product: { id: product.id }, availableQuantity: 7 });
  });

  it('refuses with SERVICE_UNAVAILABLE, writing nothing, while the products subgraph is down or silent', async () => {
    // A port nobody listens on, and a server that takes requests and never answers.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const urls = [`http://127.0.0.1:${await freePort()}/graphql`, `http://127.0.0.1:${port}/graphql`];
    try {
      for (const url of urls) {
        // Another instance over the same database, told that catalogue.
        const replica = await startTestReplica(inventory, {
          env: { PRODUCTS_URL: url, PRODUCTS_TIMEOUT_MS: '500' },
        });
        try {
          const product = await inventory.createProduct();
          const before = await snapshot();
          const response = await replica.graphql(
            CREATE,
            { input: { productId: product.id, sku: uniqueSku(), availableQuantity: 5 } },
            inventory.adminToken,
          );
          expect(errorCodes(response)).toEqual(['SERVICE_UNAVAILABLE']);
          expect(JSON.stringify(response.errors)).not.toContain('127.0.0.1');
          expect(await snapshot()).toEqual(before);
        } finally {
          await replica.stop();
        }
      }
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it.each([
    ['a negative quantity', { availableQuantity: -1 }],
    ['a malformed product id', { productId: 'nope' }],
    ['a bad SKU', { sku: 'has spaces' }],
    ['a negative reorder level', { reorderLevel: -5 }],
    ['a zero reorder quantity', { reorderQuantity: 0 }],
  ])('refuses %s with BAD_USER_INPUT and changes nothing', async (_, override) => {
    const before = await snapshot();
    const response = await inventory.post(
      CREATE,
      { input: { productId: randomUUID(), sku: uniqueSku(), availableQuantity: 5, ...override } },
      'admin',
    );
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    expect(await snapshot()).toEqual(before);
  });
});

describe('adjustStock', () => {
  it.each([
    ['PURCHASE', 5, 25],
    ['RETURN', 2, 22],
    ['SALE', -3, 17],
    ['DAMAGE', -1, 19],
    ['ADJUSTMENT', -4, 16],
    ['ADJUSTMENT', 4, 24],
  ])(
    '%s of %i moves available and total together, audited with its reference',
    async (type, quantity, expected) => {
      const item = await inventory.createItem({ availableQuantity: 20 });
      const response = await inventory.post<{ adjustStock: ItemJson }>(
        ADJUST,
        { id: item.id, input: { quantity, type, reference: 'PO-1', notes: 'count' } },
        'admin',
      );
      expect(response.errors).toBeUndefined();
      expect(response.data?.adjustStock).toMatchObject({
        availableQuantity: expected,
        totalQuantity: expected,
      });
      const last = await inventory.prisma.stockTransaction.findFirstOrThrow({
        where: { inventoryId: item.id, reference: 'PO-1' },
      });
      expect(last).toMatchObject({
        type,
        quantity,
        notes: 'count',
        availableAfter: expected,
        totalAfter: expected,
      });
    },
  );

  it.each([
    ['zero', { quantity: 0, type: 'ADJUSTMENT' }],
    ['a PURCHASE that removes', { quantity: -2, type: 'PURCHASE' }],
    ['a RETURN that removes', { quantity: -2, type: 'RETURN' }],
    ['a SALE that adds', { quantity: 2, type: 'SALE' }],
    ['a DAMAGE that adds', { quantity: 2, type: 'DAMAGE' }],
    ['more than is available', { quantity: -21, type: 'DAMAGE' }],
    ['an absurd quantity', { quantity: 2_000_000, type: 'PURCHASE' }],
    ['a too long reference', { quantity: 1, type: 'PURCHASE', reference: 'x'.repeat(201) }],
  ])('refuses %s with BAD_USER_INPUT and changes nothing', async (_, input) => {
    const item = await inventory.createItem({ availableQuantity: 20 });
    const before = await snapshot();
    const response = await inventory.post(ADJUST, { id: item.id, input }, 'admin');
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses an unknown type (GraphQL validation) and an unknown item (NOT_FOUND)', async () => {
    const item = await inventory.createItem();
    const badType = await inventory.post(
      ADJUST,
      { id: item.id, input: { quantity: 1, type: 'GIFT' } },
      'admin',
    );
    expect(errorCodes(badType)).toEqual(['BAD_USER_INPUT']);
    const ghost = await inventory.post(
      ADJUST,
      { id: randomUUID(), input: { quantity: 1, type: 'PURCHASE' } },
      'admin',
    );
    expect(errorCodes(ghost)).toEqual(['NOT_FOUND']);
    const malformed = await inventory.post(
      ADJUST,
      { id: 'x', input: { quantity: 1, type: 'PURCHASE' } },
      'admin',
    );
    expect(errorCodes(malformed)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('admin only', () => {
  it('customers get FORBIDDEN and anonymous callers UNAUTHENTICATED, and nothing changes', async () => {
    const item = await inventory.createItem();
    const before = await snapshot();
    const calls: [string, Record<string, unknown>][] = [
      [CREATE, { input: { productId: randomUUID(), sku: uniqueSku(), availableQuantity: 1 } }],
      [UPDATE, { id: item.id, input: { reorderLevel: 3 } }],
      [ADJUST, { id: item.id, input: { quantity: 5, type: 'PURCHASE' } }],
      // Bad input from a customer is still FORBIDDEN: who may call is decided first.
      [ADJUST, { id: item.id, input: { quantity: -5, type: 'PURCHASE' } }],
      [ITEMS, {}],
    ];
    for (const [query, variables] of calls) {
      expect(errorCodes(await inventory.post(query, variables, 'customer'))).toEqual(['FORBIDDEN']);
      expect(errorCodes(await inventory.post(query, variables, 'anonymous'))).toEqual(['UNAUTHENTICATED']);
    }
    const history = await inventory.post(HISTORY, { productId: item.product.id }, 'customer');
    expect(errorCodes(history)).toEqual(['FORBIDDEN']);
    expect(await snapshot()).toEqual(before);
  });

  it('anyone may read a product stock levels', async () => {
    const item = await inventory.createItem({ availableQuantity: 9 });
    const response = await inventory.post<{ inventoryByProduct: ItemJson | null }>(
      `query P($id: ID!) { inventoryByProduct(productId: $id) { ${ITEM_FIELDS} } }`,
      { id: item.product.id },
    );
    expect(response.data?.inventoryByProduct).toMatchObject({ id: item.id, availableQuantity: 9 });
    const none = await inventory.post<{ inventoryByProduct: ItemJson | null }>(
      'query P($id: ID!) { inventoryByProduct(productId: $id) { id } }',
      { id: randomUUID() },
    );
    expect(none.data?.inventoryByProduct).toBeNull();
  });
});

describe('updateInventory and low stock', () => {
  it('publishes inventory.low-stock once per crossing, with the reorder quantity', async () => {
    const item = await inventory.createItem({ availableQuantity: 15, reorderLevel: 10, reorderQuantity: 70 });
    const adjust = (quantity: number) =>
      inventory.post(ADJUST, { id: item.id, input: { quantity, type: 'ADJUSTMENT' } }, 'admin');
    await adjust(-4); // 11: above
    await adjust(-1); // 10: crosses (at the level)
    await adjust(-3); // 7: still low, no new alert
    await adjust(-2); // 5
    const alerts = () =>
      inventory.published('inventory.low-stock').then((all) => all.filter((a) => a.inventoryId === item.id));
    expect(await alerts()).toEqual([
      {
        inventoryId: item.id,
        productId: item.product.id,
        sku: item.sku,
        availableQuantity: 10,
        reorderLevel: 10,
        reorderQuantity: 70,
      },
    ]);
    await adjust(20); // 25: recovered, re-armed
    await adjust(-16); // 9: a second crossing
    expect((await alerts()).map((a) => a.availableQuantity)).toEqual([10, 9]);
    // Raising the reorder level above the stock is a crossing too.
    const raised = await inventory.post<{ updateInventory: ItemJson }>(
      UPDATE,
      { id: item.id, input: { reorderLevel: 0 } },
      'admin',
    );
    expect(raised.data?.updateInventory.lowStock).toBe(false);
    await inventory.post(UPDATE, { id: item.id, input: { reorderLevel: 30, sku: `${item.sku}-b` } }, 'admin');
    expect((await alerts()).map((a) => [a.availableQuantity, a.reorderLevel])).toEqual([
      [10, 10],
      [9, 10],
      [9, 30],
    ]);
    const low = await inventory.post<{ inventoryItems: { edges: { node: { id: string } }[] } }>(
      ITEMS,
      { low: true, first: 100 },
      'admin',
    );
    expect(low.data?.inventoryItems.edges.map((e) => e.node.id)).toContain(item.id);
  });

  it('refuses bad updates with BAD_USER_INPUT, unknown items with NOT_FOUND, taken SKUs with CONFLICT', async () => {
    const item = await inventory.createItem();
    const other = await inventory.createItem();
    expect(
      errorCodes(await inventory.post(UPDATE, { id: item.id, input: { reorderLevel: -1 } }, 'admin')),
    ).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await inventory.post(UPDATE, { id: item.id, input: { sku: null } }, 'admin'))).toEqual([
      'BAD_USER_INPUT',
    ]);
    expect(
      errorCodes(await inventory.post(UPDATE, { id: randomUUID(), input: { reorderLevel: 1 } }, 'admin')),
    ).toEqual(['NOT_FOUND']);
    expect(
      errorCodes(await inventory.post(UPDATE, { id: item.id, input: { sku: other.sku } }, 'admin')),
    ).toEqual(['CONFLICT']);
  });
});

describe('lists', () => {
  it('pages through inventory items and an item history, newest first', async () => {
    const created: ItemJson[] = [];
    for (let i = 0; i < 5; i++) created.push(await inventory.createItem());
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: {
        data?: {
          inventoryItems: {
            edges: { node: { id: string } }[];
            pageInfo: { hasNextPage: boolean; endCursor: string | null };
          };
        } | null;
      } = await inventory.post(ITEMS, { first: 2, after }, 'admin');
      const connection = page.data?.inventoryItems;
      if (!connection) throw new Error('no page');
      seen.push(...connection.edges.map((e) => e.node.id));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(new Set(seen).size).toBe(seen.length);
    const ours = seen.filter((id) => created.some((c) => c.id === id));
    expect(ours).toEqual([...created].reverse().map((c) => c.id));

    const item = created[0] as ItemJson;
    for (const quantity of [1, 2, 3]) {
      await inventory.post(ADJUST, { id: item.id, input: { quantity, type: 'PURCHASE' } }, 'admin');
    }
    type History = {
      inventoryByProduct: {
        transactions: {
          edges: { node: { quantity: number; type: string } }[];
          pageInfo: { hasNextPage: boolean; endCursor: string };
        };
      };
    };
    const first = await inventory.post<History>(HISTORY, { productId: item.product.id, first: 3 }, 'admin');
    const page1 = first.data?.inventoryByProduct.transactions;
    expect(page1?.edges.map((e) => e.node.quantity)).toEqual([3, 2, 1]);
    expect(page1?.pageInfo.hasNextPage).toBe(true);
    const second = await inventory.post<History>(
      HISTORY,
      { productId: item.product.id, first: 3, after: page1?.pageInfo.endCursor },
      'admin',
    );
    expect(second.data?.inventoryByProduct.transactions.edges.map((e) => e.node.type)).toEqual(['PURCHASE']);
    expect(errorCodes(await inventory.post(ITEMS, { first: 0 }, 'admin'))).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await inventory.post(ITEMS, { after: 'garbage' }, 'admin'))).toEqual([
      'BAD_USER_INPUT',
    ]);
    expect(await invariantViolations(inventory.prisma)).toEqual([]);
  });
});

describe('Product { inventory inStock }', () => {
  it('resolves a batch of product references with one SQL query', async () => {
    const inStock = await inventory.createItem({ availableQuantity: 3 });
    const soldOut = await inventory.createItem({ availableQuantity: 0 });
    const unknown = randomUUID();
    const representations = [inStock.product.id, soldOut.product.id, unknown, 'not-a-uuid'].map((id) => ({
      __typename: 'Product',
      id,
    }));
    inventory.sql.length = 0;
    const response = await inventory.post<{
      _entities: {
        id: string;
        inStock: boolean;
        inventory: { id: string; availableQuantity: number } | null;
      }[];
    }>(
      `query E($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id inStock inventory { id availableQuantity } } } }`,
      { r: representations },
    );
    expect(response.errors).toBeUndefined();
    expect(response.data?._entities).toEqual([
      { id: inStock.product.id, inStock: true, inventory: { id: inStock.id, availableQuantity: 3 } },
      { id: soldOut.product.id, inStock: false, inventory: { id: soldOut.id, availableQuantity: 0 } },
      { id: unknown, inStock: false, inventory: null },
      { id: 'not-a-uuid', inStock: false, inventory: null },
    ]);
    expect(inventory.sql).toHaveLength(1);
    expect(inventory.sql[0]).toMatch(/FROM "public"\."inventory" WHERE .*product_id.* IN/);
  });

  it('resolves InventoryItem references in one query too', async () => {
    const a = await inventory.createItem();
    const b = await inventory.createItem();
    inventory.sql.length = 0;
    const response = await inventory.post<{ _entities: ({ id: string; sku: string } | null)[] }>(
      `query E($r: [_Any!]!) { _entities(representations: $r) { ... on InventoryItem { id sku } } }`,
      { r: [a.id, b.id, randomUUID()].map((id) => ({ __typename: 'InventoryItem', id })) },
    );
    expect(response.data?._entities.map((e) => e?.id ?? null)).toEqual([a.id, b.id, null]);
    expect(inventory.sql).toHaveLength(1);
  });
});
