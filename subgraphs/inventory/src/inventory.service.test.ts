import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { adjustStockSchema, createInventorySchema, updateInventorySchema } from './inventory.service';

describe('adjustStockSchema: the sign of the quantity agrees with the type', () => {
  it.each([
    ['PURCHASE', 5],
    ['RETURN', 1],
    ['SALE', -2],
    ['DAMAGE', -1],
    ['ADJUSTMENT', 3],
    ['ADJUSTMENT', -3],
  ])('accepts %s %i', (type, quantity) => {
    expect(adjustStockSchema.safeParse({ type, quantity }).success).toBe(true);
  });

  it.each([
    ['PURCHASE', -5],
    ['RETURN', -1],
    ['SALE', 2],
    ['DAMAGE', 1],
    ['ADJUSTMENT', 0],
    ['PURCHASE', 1.5],
    ['PURCHASE', 1_000_001],
    ['GIFT', 1],
  ])('refuses %s %s', (type, quantity) => {
    expect(adjustStockSchema.safeParse({ type, quantity }).success).toBe(false);
  });

  it('trims reference and notes, empty ones become null', () => {
    expect(
      adjustStockSchema.parse({ type: 'PURCHASE', quantity: 1, reference: '  PO-7 ', notes: '   ' }),
    ).toEqual({ type: 'PURCHASE', quantity: 1, reference: 'PO-7', notes: null });
  });
});

describe('createInventorySchema and updateInventorySchema', () => {
  it('upper-cases the SKU and accepts left-out reorder settings', () => {
    const productId = randomUUID();
    expect(createInventorySchema.parse({ productId, sku: ' ab-1 ', availableQuantity: 0 })).toMatchObject({
      productId,
      sku: 'AB-1',
      availableQuantity: 0,
    });
  });

  it('refuses negative stock, a zero reorder quantity, and null where a field cannot be empty', () => {
    const productId = randomUUID();
    expect(createInventorySchema.safeParse({ productId, sku: 'A', availableQuantity: -1 }).success).toBe(
      false,
    );
    expect(
      createInventorySchema.safeParse({ productId, sku: 'A', availableQuantity: 1, reorderQuantity: 0 })
        .success,
    ).toBe(false);
    expect(updateInventorySchema.safeParse({ reorderLevel: null }).success).toBe(false);
    expect(updateInventorySchema.safeParse({}).success).toBe(true);
  });
});
