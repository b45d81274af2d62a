import { loadSubgraphs } from '@shop/infra';
import { createProduct, freePort, startTestSubgraph, type TestSubgraph } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProductCatalog, ProductCatalogUnavailable } from '../src';

describe('ProductCatalog against the real products subgraph', () => {
  let products: TestSubgraph;
  let adminToken: string;

  beforeAll(async () => {
    const definition = (await loadSubgraphs()).find((subgraph) => subgraph.name === 'products');
    if (!definition) throw new Error('products is not registered');
    products = await startTestSubgraph(definition);
    adminToken = await products.keys.tokenFor('ADMIN');
  });

  afterAll(async () => {
    await products?.stop();
  });

  it('reads several products in one request, unknown ids absent, inactive ones flagged', async () => {
    const [a, b] = await Promise.all([
      createProduct(products.url, adminToken, { price: '3.10' }),
      createProduct(products.url, adminToken, { price: '4.20' }),
    ]);
    products.sql.length = 0;
    const catalog = new ProductCatalog({ url: products.url });
    const found = await catalog.products([a.id, b.id, '00000000-0000-4000-8000-000000000000', a.id]);
    expect([...found.keys()].sort()).toEqual([a.id, b.id].sort());
    expect(found.get(a.id)).toEqual({ id: a.id, sku: a.sku, name: a.name, active: true, price: a.price });
    expect(products.sql).toHaveLength(1);
  });

  it('remembers answers for cacheTtlMs until told a product changed', async () => {
    const product = await createProduct(products.url, adminToken, { price: '1.00' });
    const catalog = new ProductCatalog({ url: products.url, cacheTtlMs: 60_000 });
    await catalog.products([product.id]);
    products.sql.length = 0;
    expect((await catalog.products([product.id])).get(product.id)?.price.amount).toBe('1.00');
    expect(products.sql).toHaveLength(0);
    catalog.forget(product.id);
    await catalog.products([product.id]);
    expect(products.sql).toHaveLength(1);
  });

  it('answers as the caller whose token it forwards, and keeps that answer out of the shared cache', async () => {
    const product = await createProduct(products.url, adminToken, { price: '2.00' });
    const deactivated = await products.graphql(
      'mutation U($id: ID!) { updateProduct(id: $id, input: { active: false }) { id } }',
      { id: product.id },
      adminToken,
    );
    expect(deactivated.errors).toBeUndefined();
    const customerToken = await products.keys.tokenFor('CUSTOMER');
    const catalog = new ProductCatalog({ url: products.url, cacheTtlMs: 60_000 });

    // Anonymous and customer callers are not shown an inactive product; the anonymous answer is cached.
    expect((await catalog.products([product.id])).has(product.id)).toBe(false);
    expect((await catalog.products([product.id], { token: customerToken })).has(product.id)).toBe(false);
    // An admin's token is asked afresh despite the cached anonymous answer, and sees it.
    products.sql.length = 0;
    expect((await catalog.products([product.id], { token: adminToken })).get(product.id)).toMatchObject({
      id: product.id,
      active: false,
    });
    expect(products.sql).toHaveLength(1);
    // What the admin saw did not replace the anonymous answer: served from the cache, still absent.
    products.sql.length = 0;
    expect((await catalog.products([product.id])).has(product.id)).toBe(false);
    expect(products.sql).toHaveLength(0);
  });

  it('says ProductCatalogUnavailable when the products subgraph does not answer', async () => {
    const catalog = new ProductCatalog({
      url: `http://127.0.0.1:${await freePort()}/graphql`,
      timeoutMs: 500,
    });
    await expect(catalog.products(['00000000-0000-4000-8000-000000000000'])).rejects.toBeInstanceOf(
      ProductCatalogUnavailable,
    );
  });
});
