import { describe, expect, it } from 'vitest';
import { fromMinorUnits, toMinorUnits } from './money';

describe('minor units', () => {
  it('converts exactly, both ways', () => {
    expect(toMinorUnits('19.98')).toBe(1998);
    expect(toMinorUnits('0.1')).toBe(10);
    expect(toMinorUnits('7')).toBe(700);
    expect(toMinorUnits('9999999999.99')).toBe(999_999_999_999);
    expect(fromMinorUnits(1998)).toBe('19.98');
    expect(fromMinorUnits(5)).toBe('0.05');
    expect(fromMinorUnits(0)).toBe('0.00');
    // A float would say 0.30000000000000004.
    expect(fromMinorUnits(toMinorUnits('0.1') + toMinorUnits('0.2'))).toBe('0.30');
  });

  it('refuses what is not an amount', () => {
    for (const bad of ['1.001', '-1', 'ten', '']) expect(() => toMinorUnits(bad)).toThrow();
    expect(() => fromMinorUnits(-1)).toThrow();
    expect(() => fromMinorUnits(1.5)).toThrow();
  });
});
