import { randomUUID } from 'node:crypto';
import { uniqueSku } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import { errorCodes, PRODUCT_FIELDS, type ProductJson, useProducts } from './support';

const CREATE = `mutation Create($input: CreateProductInput!) { createProduct(input: $input) { ${PRODUCT_FIELDS} } }`;
const UPDATE = `mutation Update($id: ID!, $input: UpdateProductInput!) {
  updateProduct(id: $id, input: $input) { ${PRODUCT_FIELDS} }
}`;
const PRODUCT = `query Product($id: ID!) { product(id: $id) { ${PRODUCT_FIELDS} } }`;

const products = useProducts();
const freshSku = () => uniqueSku();

async function createProduct(input: Record<string, unknown>): Promise<ProductJson> {
  const response = await products.post<{ createProduct: ProductJson }>(CREATE, { input }, 'admin');
  expect(response.errors).toBeUndefined();
  if (!response.data) throw new Error('createProduct returned no data');
  return response.data.createProduct;
}

const productCount = () => products.prisma.product.count();

describe('createProduct', () => {
  it('lets an admin create a product that anyone can then read', async () => {
    const created = await createProduct({
      name: '  Linen Shirt  ',
      sku: 'linen-shirt-m',
      price: '49.5',
      description: 'Breathable linen.',
    });

    expect(created).toMatchObject({
      name: 'Linen Shirt',
      sku: 'LINEN-SHIRT-M',
      description: 'Breathable linen.',
      price: { amount: '49.50', currency: 'USD' },
      active: true,
    });
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.createdAt).toBe(created.updatedAt);

    for (const as of ['anonymous', 'customer', 'admin'] as const) {
      const read = await products.post<{ product: ProductJson }>(PRODUCT, { id: created.id }, as);
      expect(read.data?.product).toEqual(created);
    }
  });

  it('always gives prices two decimals, from strings and from integers', async () => {
    expect((await createProduct({ name: 'Ten', sku: freshSku(), price: '10' })).price.amount).toBe('10.00');
    expect((await createProduct({ name: 'Int', sku: freshSku(), price: 7 })).price.amount).toBe('7.00');
    expect((await createProduct({ name: 'Tenth', sku: freshSku(), price: '0.1' })).price.amount).toBe('0.10');
    const largest = await createProduct({ name: 'Dear', sku: freshSku(), price: '9999999999.99' });
    expect(largest.price.amount).toBe('9999999999.99');
    // Written inline in the query as well as in variables.
    const inline = await products.post<{ createProduct: ProductJson }>(
      `mutation { createProduct(input: { name: "Inline", sku: "${freshSku()}", price: "3.5" }) { price { amount } } }`,
      {},
      'admin',
    );
    expect(inline.data?.createProduct.price.amount).toBe('3.50');
  });

  it('refuses customers (FORBIDDEN) and anonymous callers (UNAUTHENTICATED), writing nothing', async () => {
    const before = await productCount();
    const input = { name: 'Sneaky', sku: 'SNEAKY-1', price: '1.00' };

    const asCustomer = await products.post(CREATE, { input }, 'customer');
    const asAnonymous = await products.post(CREATE, { input }, 'anonymous');

    expect(errorCodes(asCustomer)).toEqual(['FORBIDDEN']);
    expect(errorCodes(asAnonymous)).toEqual(['UNAUTHENTICATED']);
    expect(asCustomer.data).toBeNull();
    expect(await productCount()).toBe(before);
    expect(await products.prisma.product.findUnique({ where: { sku: 'SNEAKY-1' } })).toBeNull();
  });

  it.each([
    ['a negative price', { price: '-5.00' }, 'price'],
    ['a zero price', { price: '0.00' }, 'price'],
    ['a price with 3 decimals', { price: '1.999' }, 'price'],
    ['a float-like JSON number price', { price: 19.99 }, 'price'],
    ['a price too large for the column', { price: '10000000000' }, 'price'],
    ['an empty name', { name: '   ' }, 'name'],
    ['a name over 200 characters', { name: 'x'.repeat(201) }, 'name'],
    ['a SKU with spaces and punctuation', { sku: 'BAD SKU!' }, 'sku'],
    ['a SKU over 64 characters', { sku: 'A'.repeat(65) }, 'sku'],
    ['an empty SKU', { sku: '' }, 'sku'],
    ['a description over 5000 characters', { description: 'd'.repeat(5001) }, 'description'],
  ])('refuses %s with BAD_USER_INPUT naming the field, writing nothing', async (_case, change, field) => {
    const before = await productCount();
    const input = { name: 'Valid name', sku: freshSku(), price: '5.00', ...change };

    const response = await products.post(CREATE, { input }, 'admin');

    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.errors?.[0]?.message).toContain(field);
    expect(await productCount()).toBe(before);
  });

  it('names every invalid field at once', async () => {
    const response = await products.post(
      CREATE,
      { input: { name: '', sku: 'no good', price: '-1' } },
      'admin',
    );
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    const fields = (response.errors?.[0]?.extensions?.fields ?? []) as { path: string }[];
    expect(new Set(fields.map((field) => field.path))).toEqual(new Set(['name', 'sku', 'price']));
  });

  it('refuses a SKU that is taken, whatever its case, with CONFLICT', async () => {
    const sku = freshSku();
    await createProduct({ name: 'Original', sku, price: '5.00' });
    const before = await productCount();

    const duplicate = await products.post(
      CREATE,
      { input: { name: 'Copy', sku: sku.toLowerCase(), price: '6.00' } },
      'admin',
    );

    expect(errorCodes(duplicate)).toEqual(['CONFLICT']);
    expect(duplicate.errors?.[0]?.extensions).toMatchObject({ field: 'sku' });
    expect(await productCount()).toBe(before);
  });
});

describe('updateProduct', () => {
  it('changes only the given fields; a null description clears it', async () => {
    const created = await createProduct({ name: 'Mug', sku: freshSku(), price: '8.00', description: 'Blue' });

    const renamed = await products.post<{ updateProduct: ProductJson }>(
      UPDATE,
      { id: created.id, input: { name: ' Big Mug ', price: '9.5' } },
      'admin',
    );
    expect(renamed.errors).toBeUndefined();
    expect(renamed.data?.updateProduct).toMatchObject({
      id: created.id,
      name: 'Big Mug',
      price: { amount: '9.50', currency: 'USD' },
      description: 'Blue',
      sku: created.sku,
      active: true,
      createdAt: created.createdAt,
    });
    expect(Date.parse(renamed.data?.updateProduct.updatedAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(created.updatedAt),
    );

    const cleared = await products.post<{ updateProduct: ProductJson }>(
      UPDATE,
      { id: created.id, input: { description: null, active: false } },
      'admin',
    );
    expect(cleared.data?.updateProduct).toMatchObject({ name: 'Big Mug', description: null, active: false });
  });

  it('refuses customers and anonymous callers, changing nothing', async () => {
    const created = await createProduct({ name: 'Lamp', sku: freshSku(), price: '30.00' });
    const input = { name: 'Hacked', price: '0.01' };

    expect(errorCodes(await products.post(UPDATE, { id: created.id, input }, 'customer'))).toEqual([
      'FORBIDDEN',
    ]);
    expect(errorCodes(await products.post(UPDATE, { id: created.id, input }, 'anonymous'))).toEqual([
      'UNAUTHENTICATED',
    ]);
    const row = await products.prisma.product.findUniqueOrThrow({ where: { id: created.id } });
    expect(row.name).toBe('Lamp');
    expect(row.price.toFixed(2)).toBe('30.00');
  });

  it('answers NOT_FOUND for an id no product has', async () => {
    const response = await products.post(UPDATE, { id: randomUUID(), input: { name: 'Ghost' } }, 'admin');
    expect(errorCodes(response)).toEqual(['NOT_FOUND']);
  });

  it('refuses invalid changes and malformed ids with BAD_USER_INPUT, changing nothing', async () => {
    const created = await createProduct({ name: 'Pen', sku: freshSku(), price: '2.00' });
    const attempts = [
      { id: created.id, input: { price: '2.001' } },
      { id: created.id, input: { price: '-2' } },
      { id: created.id, input: { name: '' } },
      { id: created.id, input: { name: null } },
      { id: created.id, input: { name: 'Fine', price: 2.5 } },
      { id: 'not-a-uuid', input: { name: 'Fine' } },
    ];
    for (const variables of attempts) {
      expect(errorCodes(await products.post(UPDATE, variables, 'admin'))).toEqual(['BAD_USER_INPUT']);
    }
    const row = await products.prisma.product.findUniqueOrThrow({ where: { id: created.id } });
    expect(row).toMatchObject({ name: 'Pen', active: true });
    expect(row.price.toFixed(2)).toBe('2.00');
  });
});

describe('product(id)', () => {
  it('is null for an unknown id and BAD_USER_INPUT for a malformed one', async () => {
    const unknown = await products.post(PRODUCT, { id: randomUUID() });
    expect(unknown.errors).toBeUndefined();
    expect(unknown.data).toEqual({ product: null });

    expect(errorCodes(await products.post(PRODUCT, { id: 'abc' }))).toEqual(['BAD_USER_INPUT']);
  });

  it('hides an inactive product from customers and anonymous callers, not from admins', async () => {
    const created = await createProduct({ name: 'Retired', sku: freshSku(), price: '4.00' });
    await products.post(UPDATE, { id: created.id, input: { active: false } }, 'admin');

    expect((await products.post(PRODUCT, { id: created.id }, 'anonymous')).data).toEqual({ product: null });
    expect((await products.post(PRODUCT, { id: created.id }, 'customer')).data).toEqual({ product: null });
    const asAdmin = await products.post<{ product: ProductJson }>(PRODUCT, { id: created.id }, 'admin');
    expect(asAdmin.data?.product).toMatchObject({ id: created.id, active: false });
  });
});

describe('health', () => {
  it('is ready when the database answers', async () => {
    const ready = await fetch(new URL('/health/ready', products.url));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ checks: { postgres: 'ok' } });
  });
});
