import { describe, expect, it } from 'vitest';
import {
  allowedTransitions,
  canTransition,
  commandStep,
  decide,
  type OrderFacts,
  orderStatuses,
  type Signal,
} from './order-state';

const pending: OrderFacts = {
  status: 'PENDING',
  stockReserved: false,
  paymentAuthorized: false,
  paymentCaptured: false,
  totalCents: 1000n,
  refundedCents: 0n,
};

/** Applies signals one after the other, as the consumer would. */
function run(signals: Signal[], start: OrderFacts = pending) {
  let facts = start;
  const steps: string[] = [];
  for (const signal of signals) {
    const decision = decide(facts, signal);
    facts = decision.facts;
    steps.push(...decision.steps.map((s) => `${s.from}>${s.to}:${s.reason}`));
  }
  return { facts, steps };
}

describe('the order state machine', () => {
  it('lists each transition once, between known states', () => {
    const keys = allowedTransitions.map(([from, to]) => `${from}>${to}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const [from, to] of allowedTransitions) {
      expect(orderStatuses).toContain(from);
      expect(orderStatuses).toContain(to);
    }
    expect(canTransition('DELIVERED', 'CANCELLED')).toBe(false);
    expect(canTransition('CANCELLED', 'PAID')).toBe(false);
  });

  it('needs the reservation and the authorization, in either order, to be PAID', () => {
    const reservedFirst = run([{ kind: 'STOCK_RESERVED' }, { kind: 'PAYMENT_AUTHORIZED' }]);
    const authorizedFirst = run([{ kind: 'PAYMENT_AUTHORIZED' }, { kind: 'STOCK_RESERVED' }]);
    for (const outcome of [reservedFirst, authorizedFirst]) {
      expect(outcome.facts.status).toBe('PAID');
      expect(outcome.steps).toEqual(['PENDING>PAID:STOCK_RESERVED_AND_PAYMENT_AUTHORIZED']);
    }
    expect(run([{ kind: 'PAYMENT_AUTHORIZED' }]).facts.status).toBe('PENDING');
  });

  it('takes a capture read before the authorization and the reservation all the way to PROCESSING', () => {
    const outcome = run([
      { kind: 'PAYMENT_CAPTURED' },
      { kind: 'PAYMENT_AUTHORIZED' },
      { kind: 'STOCK_RESERVED' },
    ]);
    expect(outcome.steps).toEqual([
      'PENDING>PAID:STOCK_RESERVED_AND_PAYMENT_AUTHORIZED',
      'PAID>PROCESSING:PAYMENT_CAPTURED',
    ]);
  });

  it('decides nothing new for a signal seen twice', () => {
    const outcome = run([
      { kind: 'STOCK_RESERVED' },
      { kind: 'PAYMENT_AUTHORIZED' },
      { kind: 'PAYMENT_AUTHORIZED' },
    ]);
    expect(outcome.steps).toHaveLength(1);
  });

  it('cancels a pending order for the reasons of the catalogue, and ignores late news', () => {
    expect(run([{ kind: 'STOCK_RESERVATION_FAILED' }]).steps).toEqual(['PENDING>CANCELLED:OUT_OF_STOCK']);
    expect(run([{ kind: 'PAYMENT_FAILED' }]).steps).toEqual(['PENDING>CANCELLED:PAYMENT_FAILED']);
    expect(run([{ kind: 'STOCK_RELEASED', reason: 'EXPIRED' }]).steps).toEqual([
      'PENDING>CANCELLED:RESERVATION_EXPIRED',
    ]);
    const late = run([
      { kind: 'PAYMENT_FAILED' },
      { kind: 'STOCK_RESERVED' },
      { kind: 'PAYMENT_AUTHORIZED' },
    ]);
    expect(late.facts.status).toBe('CANCELLED');
    expect(late.steps).toHaveLength(1);
  });

  it('refunds only once the refunds reach the total', () => {
    const paid = run([{ kind: 'STOCK_RESERVED' }, { kind: 'PAYMENT_CAPTURED' }]).facts;
    const partial = run([{ kind: 'PAYMENT_REFUNDED', amountCents: 400n }], paid);
    expect(partial.facts.status).toBe('PROCESSING');
    const full = run([{ kind: 'PAYMENT_REFUNDED', amountCents: 600n }], partial.facts);
    expect(full.steps).toEqual(['PROCESSING>REFUNDED:PAYMENT_REFUNDED']);
  });

  it('refuses commands the machine does not allow', () => {
    expect(commandStep('PENDING', 'SHIP')).toBeUndefined();
    expect(commandStep('PAID', 'DELIVER')).toBeUndefined();
    expect(commandStep('SHIPPED', 'CANCEL')).toBeUndefined();
    expect(commandStep('CANCELLED', 'CANCEL')).toBeUndefined();
    expect(commandStep('PROCESSING', 'CANCEL', 'ADMIN_REQUEST')).toMatchObject({
      to: 'CANCELLED',
      cancellationReason: 'ADMIN_REQUEST',
    });
    expect(commandStep('SHIPPED', 'DELIVER')).toMatchObject({ from: 'SHIPPED', to: 'DELIVERED' });
  });
});
