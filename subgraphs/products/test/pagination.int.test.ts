import { randomUUID } from 'node:crypto';
import { encodeCursor } from '@shop/kit';
import { beforeAll, describe, expect, it } from 'vitest';
import { errorCodes, useProducts } from './support';

const PRODUCTS = `query Products($first: Int, $after: String, $search: String) {
  products(first: $first, after: $after, search: $search) {
    edges { cursor node { id sku name active price { amount } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    totalCount
  }
}`;

interface ProductsPage {
  products: {
    edges: { cursor: string; node: { id: string; sku: string; name: string; active: boolean } }[];
    pageInfo: {
      hasNextPage: boolean;
      hasPreviousPage: boolean;
      startCursor: string | null;
      endCursor: string | null;
    };
    totalCount: number;
  };
}

// This file's database holds only these 25 products.
const products = useProducts();
let newestFirst: { id: string; createdAt: Date }[];

beforeAll(async () => {
  const base = Date.parse('2026-01-01T00:00:00.000Z');
  // Groups of three share a createdAt, so the id must break ties for every page boundary to hold.
  const rows = Array.from({ length: 25 }, (_, i) => ({
    id: randomUUID(),
    name: `Catalogue item ${i}`,
    sku: `PAGE-${String(i).padStart(2, '0')}`,
    price: '1.00',
    createdAt: new Date(base + Math.floor(i / 3) * 1000),
  }));
  await products.prisma.product.createMany({ data: rows });
  newestFirst = rows
    .map(({ id, createdAt }) => ({ id, createdAt }))
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1));
});
const page = (variables: Record<string, unknown>, as: 'admin' | 'customer' | 'anonymous' = 'anonymous') =>
  products.post<ProductsPage>(PRODUCTS, variables, as);

describe('products pagination', () => {
  it('walks 25 products 10 at a time: every product once, newest first, hasNextPage right', async () => {
    const seen: string[] = [];
    const pages: ProductsPage['products'][] = [];
    let after: string | null = null;
    do {
      const response = await page({ first: 10, after });
      expect(response.errors).toBeUndefined();
      const connection = response.data?.products;
      if (!connection) throw new Error('no page');
      pages.push(connection);
      seen.push(...connection.edges.map((edge) => edge.node.id));
      after = connection.pageInfo.hasNextPage ? connection.pageInfo.endCursor : null;
    } while (after !== null && pages.length < 10);

    expect(seen).toEqual(newestFirst.map((product) => product.id));
    expect(pages.map((p) => p.edges.length)).toEqual([10, 10, 5]);
    expect(pages.map((p) => p.pageInfo.hasNextPage)).toEqual([true, true, false]);
    expect(pages.map((p) => p.pageInfo.hasPreviousPage)).toEqual([false, true, true]);
    expect(pages.map((p) => p.totalCount)).toEqual([25, 25, 25]);
    for (const p of pages) {
      expect(p.pageInfo.startCursor).toBe(p.edges[0]?.cursor);
      expect(p.pageInfo.endCursor).toBe(p.edges.at(-1)?.cursor);
    }
  });

  it('gives 20 by default and an empty last page after the last product', async () => {
    const first = await page({});
    expect(first.data?.products.edges).toHaveLength(20);

    const all = await page({ first: 100 });
    expect(all.data?.products.edges).toHaveLength(25);
    expect(all.data?.products.pageInfo.hasNextPage).toBe(false);
    const beyond = await page({ first: 10, after: all.data?.products.pageInfo.endCursor });
    expect(beyond.data?.products).toMatchObject({
      edges: [],
      pageInfo: { hasNextPage: false, startCursor: null, endCursor: null },
      totalCount: 25,
    });
  });

  it.each([
    ['first: 0', { first: 0 }],
    ['first: 101', { first: 101 }],
    ['first: -1', { first: -1 }],
    ['a cursor that is not base64 JSON', { after: 'not-a-cursor' }],
    ['a cursor of another shape', { after: encodeCursor({ offset: 10 }) }],
    ['a cursor with a bad date', { after: encodeCursor(['yesterday', randomUUID()]) }],
  ])('refuses %s with BAD_USER_INPUT', async (_case, variables) => {
    const response = await page(variables);
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.data).toBeNull();
  });

  it('counts nothing it was not asked for: a page without totalCount runs one query', async () => {
    products.sql.length = 0;
    const response = await products.post('{ products(first: 5) { edges { node { id } } } }');
    expect(response.errors).toBeUndefined();
    expect(products.sql).toHaveLength(1);
  });
});
