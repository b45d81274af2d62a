import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError } from './errors';
import { parseInput } from './validation';

describe('parseInput', () => {
  it('returns parsed input or one BAD_USER_INPUT naming every field', () => {
    const schema = z.object({ quantity: z.number().int().positive(), sku: z.string().min(1) });
    expect(parseInput(schema, { quantity: 2, sku: 'A' })).toEqual({ quantity: 2, sku: 'A' });
    try {
      parseInput(schema, { quantity: -1, sku: '' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('BAD_USER_INPUT');
      expect((error as AppError).message).toMatch(/quantity.*sku/);
    }
  });
});
