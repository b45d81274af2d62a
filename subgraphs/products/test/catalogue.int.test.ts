import { beforeAll, describe, expect, it } from 'vitest';
import { useProducts } from './support';

const PRODUCTS = `query Products($first: Int, $after: String, $search: String) {
  products(first: $first, after: $after, search: $search) {
    edges { node { sku active } }
    pageInfo { hasNextPage }
    totalCount
  }
}`;

interface ProductsPage {
  products: { edges: { node: { sku: string; active: boolean } }[]; totalCount: number };
}

const products = useProducts();

beforeAll(async () => {
  await products.prisma.product.createMany({
    data: [
      { sku: 'TEE-RED', name: 'Red T-Shirt', price: '15.00', description: 'Soft cotton' },
      { sku: 'TEE-BLUE', name: 'Blue T-Shirt', price: '15.00', description: null },
      { sku: 'MUG-01', name: 'Coffee Mug', price: '8.00', description: 'Holds a big COTTON-free brew' },
      { sku: 'CAP-99', name: '100% Wool Cap', price: '12.00', description: 'Warm' },
      { sku: 'CAP-100', name: '1000 Caps Bundle', price: '900.00', description: 'Wholesale' },
      { sku: 'OLD-TEE', name: 'Retired T-Shirt', price: '5.00', description: 'Cotton', active: false },
    ],
  });
});
async function skus(
  variables: Record<string, unknown>,
  as: 'admin' | 'customer' | 'anonymous',
): Promise<{ skus: string[]; totalCount: number }> {
  const response = await products.post<ProductsPage>(PRODUCTS, { first: 100, ...variables }, as);
  expect(response.errors).toBeUndefined();
  const connection = response.data?.products;
  if (!connection) throw new Error('no page');
  return { skus: connection.edges.map((edge) => edge.node.sku).sort(), totalCount: connection.totalCount };
}

describe('products visibility', () => {
  it('shows customers and anonymous callers active products only, and admins all', async () => {
    const active = ['CAP-100', 'CAP-99', 'MUG-01', 'TEE-BLUE', 'TEE-RED'];
    expect(await skus({}, 'anonymous')).toEqual({ skus: active, totalCount: 5 });
    expect(await skus({}, 'customer')).toEqual({ skus: active, totalCount: 5 });
    expect(await skus({}, 'admin')).toEqual({ skus: [...active, 'OLD-TEE'].sort(), totalCount: 6 });
  });
});

describe('products search', () => {
  it('matches name, SKU or description, ignoring case; totalCount counts the same filter', async () => {
    expect(await skus({ search: 't-shirt' }, 'customer')).toEqual({
      skus: ['TEE-BLUE', 'TEE-RED'],
      totalCount: 2,
    });
    expect(await skus({ search: 'tee-' }, 'customer')).toEqual({
      skus: ['TEE-BLUE', 'TEE-RED'],
      totalCount: 2,
    });
    expect(await skus({ search: 'cotton' }, 'customer')).toEqual({
      skus: ['MUG-01', 'TEE-RED'],
      totalCount: 2,
    });
    expect(await skus({ search: 'cotton' }, 'admin')).toEqual({
      skus: ['MUG-01', 'OLD-TEE', 'TEE-RED'],
      totalCount: 3,
    });
    expect(await skus({ search: 'nothing like this' }, 'admin')).toEqual({ skus: [], totalCount: 0 });
  });

  it('takes % and _ literally', async () => {
    expect((await skus({ search: '0%' }, 'customer')).skus).toEqual(['CAP-99']);
    expect((await skus({ search: 'cap_' }, 'customer')).skus).toEqual([]);
  });

  it('treats a blank search as no search', async () => {
    expect((await skus({ search: '   ' }, 'customer')).totalCount).toBe(5);
  });

  it('pages through search results', async () => {
    const first = await products.post<{
      products: { edges: unknown[]; pageInfo: { hasNextPage: boolean; endCursor: string } };
    }>(
      `query { products(first: 1, search: "t-shirt") { edges { cursor } pageInfo { hasNextPage endCursor } } }`,
    );
    expect(first.data?.products.pageInfo.hasNextPage).toBe(true);
    const second = await skus(
      { first: 1, search: 't-shirt', after: first.data?.products.pageInfo.endCursor },
      'customer',
    );
    expect(second.skus).toHaveLength(1);
    expect(second.totalCount).toBe(2);
  });
});
