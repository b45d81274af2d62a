import { describe, expect, it } from 'vitest';
import { createProductSchema, updateProductSchema } from './products.service';

// The catalogue's input rules, without a database: what a valid product is.
describe('product input rules', () => {
  const valid = { name: '  Mug ', sku: 'mug-1', price: '12.50' };

  it('trims names, upper-cases SKUs and keeps prices as exact text', () => {
    expect(createProductSchema.parse(valid)).toEqual({ name: 'Mug', sku: 'MUG-1', price: '12.50' });
    expect(createProductSchema.parse({ ...valid, description: '   ' }).description).toBeNull();
  });

  it.each([
    ['0', 'must be greater than 0'],
    ['0.00', 'must be greater than 0'],
    ['-1', 'must be greater than 0'],
    ['1.999', 'at most 2 decimals'],
    ['1e3', 'decimal number'],
    ['12345678901', 'less than 10000000000'],
    ['abc', 'decimal number'],
  ])('refuses the price %s', (price, message) => {
    const result = createProductSchema.safeParse({ ...valid, price });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.message).join(' ')).toContain(message);
  });

  it('accepts the largest price Decimal(12,2) holds', () => {
    expect(createProductSchema.parse({ ...valid, price: '9999999999.99' }).price).toBe('9999999999.99');
  });

  it.each(['', 'HAS SPACE', 'ÄÖÜ', 'x'.repeat(65)])('refuses the SKU %j', (sku) => {
    expect(createProductSchema.safeParse({ ...valid, sku }).success).toBe(false);
  });

  it('lets an update leave fields out, clear the description, but not clear the name', () => {
    expect(updateProductSchema.parse({})).toEqual({});
    expect(updateProductSchema.parse({ description: null })).toEqual({ description: null });
    expect(updateProductSchema.safeParse({ name: null }).success).toBe(false);
    expect(updateProductSchema.safeParse({ price: null }).success).toBe(false);
  });
});
