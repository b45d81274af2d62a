import { describe, expect, it } from 'vitest';
import { formatCents, sameAmount, toCents } from './money';

describe('money', () => {
  it('reads amounts as exact cents', () => {
    expect(toCents('19.99')).toBe(1999n);
    expect(toCents('19.9')).toBe(1990n);
    expect(toCents('7')).toBe(700n);
    expect(toCents('0.01')).toBe(1n);
    expect(toCents('99999999999.99')).toBe(9999999999999n);
  });

  it('refuses what is not an amount', () => {
    for (const bad of ['', '-1', '1.999', '1e3', 'abc', '1.']) expect(() => toCents(bad)).toThrow();
  });

  it('formats cents with two decimals, without float rounding', () => {
    expect(formatCents(1999n)).toBe('19.99');
    expect(formatCents(5n)).toBe('0.05');
    expect(formatCents(0n)).toBe('0.00');
    // 0.1 + 0.2 in cents is exactly 0.30.
    expect(formatCents(toCents('0.1') + toCents('0.2'))).toBe('0.30');
    expect(formatCents(toCents('19.99') * 3n)).toBe('59.97');
  });

  it('compares amounts by value', () => {
    expect(sameAmount('10', '10.00')).toBe(true);
    expect(sameAmount('10.01', '10.00')).toBe(false);
  });
});
