import { describe, expect, it } from 'vitest';
import { fromCents, toCents } from './money';

describe('money in cents', () => {
  it('round-trips decimal strings exactly', () => {
    expect(toCents('19.99')).toBe(1999n);
    expect(toCents('10')).toBe(1000n);
    expect(toCents('0.5')).toBe(50n);
    expect(toCents('0.125')).toBe(13n);
    expect(fromCents(1999n * 3n)).toBe('59.97');
    expect(fromCents(5n)).toBe('0.05');
    expect(fromCents(999999999999n)).toBe('9999999999.99');
  });
});
