/** A payment's states (the GraphQL enum and the Postgres enum have the same names). */
export type PaymentStatus =
  | 'PENDING'
  | 'PROCESSING'
  | 'AUTHORIZED'
  | 'CAPTURED'
  | 'FAILED'
  | 'CANCELLED'
  | 'REFUNDED'
  | 'PARTIALLY_REFUNDED';

export type TransitionSource = 'API' | 'WEBHOOK' | 'EVENT';

// Stripe's PaymentIntent machine seen from the shop: a failed attempt may be retried (FAILED → AUTHORIZED),
// an authorisation is captured or released, refunds only follow a capture. FAILED → FAILED is a second decline;
// PARTIALLY_REFUNDED → PARTIALLY_REFUNDED a second partial refund. CANCELLED and REFUNDED are final.
const next: Record<PaymentStatus, readonly PaymentStatus[]> = {
  PENDING: ['PROCESSING', 'AUTHORIZED', 'CAPTURED', 'FAILED', 'CANCELLED'],
  PROCESSING: ['AUTHORIZED', 'CAPTURED', 'FAILED', 'CANCELLED'],
  FAILED: ['PROCESSING', 'AUTHORIZED', 'CAPTURED', 'FAILED', 'CANCELLED'],
  AUTHORIZED: ['CAPTURED', 'CANCELLED'],
  CAPTURED: ['PARTIALLY_REFUNDED', 'REFUNDED'],
  PARTIALLY_REFUNDED: ['PARTIALLY_REFUNDED', 'REFUNDED'],
  CANCELLED: [],
  REFUNDED: [],
};

/** Whether a payment may move from `from` to `to`. */
export function canTransition(from: PaymentStatus, to: PaymentStatus): boolean {
  return next[from].includes(to);
}

/** Before capture: what can still be cancelled (the authorisation released, or the attempt abandoned). */
export function isUncaptured(status: PaymentStatus): boolean {
  return status === 'PENDING' || status === 'PROCESSING' || status === 'FAILED' || status === 'AUTHORIZED';
}

/** The customer may (still or again) pay: a new intent or a retry with another card. */
export function isPayable(status: PaymentStatus): boolean {
  return status === 'PENDING' || status === 'FAILED';
}
