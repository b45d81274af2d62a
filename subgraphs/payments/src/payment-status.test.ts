import { describe, expect, it } from 'vitest';
import { canTransition, isPayable, isUncaptured } from './payment-status';

describe('the payment status machine', () => {
  it("follows Stripe's intent: authorise (or fail and retry), then capture or cancel, then refunds", () => {
    expect(canTransition('PENDING', 'AUTHORIZED')).toBe(true);
    expect(canTransition('PENDING', 'FAILED')).toBe(true);
    expect(canTransition('FAILED', 'AUTHORIZED')).toBe(true);
    expect(canTransition('FAILED', 'FAILED')).toBe(true);
    expect(canTransition('AUTHORIZED', 'CAPTURED')).toBe(true);
    expect(canTransition('AUTHORIZED', 'CANCELLED')).toBe(true);
    expect(canTransition('CAPTURED', 'PARTIALLY_REFUNDED')).toBe(true);
    expect(canTransition('PARTIALLY_REFUNDED', 'PARTIALLY_REFUNDED')).toBe(true);
    expect(canTransition('PARTIALLY_REFUNDED', 'REFUNDED')).toBe(true);
  });

  it('refuses going back (a late event) and leaving a final state', () => {
    expect(canTransition('AUTHORIZED', 'FAILED')).toBe(false);
    expect(canTransition('CAPTURED', 'AUTHORIZED')).toBe(false);
    expect(canTransition('CAPTURED', 'CANCELLED')).toBe(false);
    expect(canTransition('AUTHORIZED', 'AUTHORIZED')).toBe(false);
    expect(canTransition('PENDING', 'REFUNDED')).toBe(false);
    for (const to of ['PENDING', 'AUTHORIZED', 'CAPTURED', 'REFUNDED'] as const) {
      expect(canTransition('CANCELLED', to)).toBe(false);
      expect(canTransition('REFUNDED', to)).toBe(false);
    }
  });

  it('knows what can be paid and what is still uncaptured', () => {
    expect(isPayable('PENDING')).toBe(true);
    expect(isPayable('FAILED')).toBe(true);
    expect(isPayable('AUTHORIZED')).toBe(false);
    expect(isUncaptured('AUTHORIZED')).toBe(true);
    expect(isUncaptured('CAPTURED')).toBe(false);
  });
});
