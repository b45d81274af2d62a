// The order state machine: the one list of allowed transitions, and how the facts other subgraphs report
// (stock reserved, payment authorized, ...) move an order. Pure: no database, no GraphQL.

export const orderStatuses = [
  'PENDING',
  'PAID',
  'PROCESSING',
  'SHIPPED',
  'DELIVERED',
  'CANCELLED',
  'REFUNDED',
] as const;
export type OrderStatus = (typeof orderStatuses)[number];

export type CancellationReason =
  | 'CUSTOMER_REQUEST'
  | 'ADMIN_REQUEST'
  | 'OUT_OF_STOCK'
  | 'PAYMENT_FAILED'
  | 'RESERVATION_EXPIRED';

/**
 * Every allowed transition, each listed once. Anything not here is refused: CONFLICT for a client's request,
 * no change for an event that no longer fits.
 */
export const allowedTransitions: readonly (readonly [from: OrderStatus, to: OrderStatus])[] = [
  // Stock reserved and payment authorized, in either order.
  ['PENDING', 'PAID'],
  // cancelOrder, out of stock, payment failed, reservation expired.
  ['PENDING', 'CANCELLED'],
  // The payment was captured before shipping.
  ['PAID', 'PROCESSING'],
  // shipOrder.
  ['PAID', 'SHIPPED'],
  ['PROCESSING', 'SHIPPED'],
  // cancelOrder before shipping (PAID also when the reservation expired anyway).
  ['PAID', 'CANCELLED'],
  ['PROCESSING', 'CANCELLED'],
  // deliverOrder.
  ['SHIPPED', 'DELIVERED'],
  // The refunds reached the total.
  ['PAID', 'REFUNDED'],
  ['PROCESSING', 'REFUNDED'],
  ['SHIPPED', 'REFUNDED'],
  ['DELIVERED', 'REFUNDED'],
];

const allowed = new Set(allowedTransitions.map(([from, to]) => `${from}>${to}`));

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return allowed.has(`${from}>${to}`);
}

/** One status change the machine decided on. */
export interface Step {
  from: OrderStatus;
  to: OrderStatus;
  /** A cancellation reason for CANCELLED, else what moved the order. */
  reason: string;
  cancellationReason?: CancellationReason;
}

/** What an order knows, besides its status, that decides where it goes next. */
export interface OrderFacts {
  status: OrderStatus;
  stockReserved: boolean;
  paymentAuthorized: boolean;
  paymentCaptured: boolean;
  totalCents: bigint;
  refundedCents: bigint;
}

/** What another subgraph told us about an order (one per consumed event). */
export type Signal =
  | { kind: 'STOCK_RESERVED' }
  | { kind: 'STOCK_RESERVATION_FAILED' }
  | { kind: 'STOCK_RELEASED'; reason: 'PAYMENT_FAILED' | 'ORDER_CANCELLED' | 'EXPIRED' }
  | { kind: 'PAYMENT_AUTHORIZED' }
  | { kind: 'PAYMENT_CAPTURED' }
  | { kind: 'PAYMENT_FAILED' }
  | { kind: 'PAYMENT_REFUNDED'; amountCents: bigint };

/** The facts after a signal and the steps (zero or more, each an allowed transition) it causes. */
export interface Decision {
  facts: OrderFacts;
  steps: Step[];
}

function step(from: OrderStatus, to: OrderStatus, reason: string): Step {
  if (!canTransition(from, to)) throw new Error(`order state machine: ${from} → ${to} is not allowed`);
  return { from, to, reason };
}

function cancel(from: OrderStatus, reason: CancellationReason): Step {
  return { ...step(from, 'CANCELLED', reason), cancellationReason: reason };
}

/**
 * Where a signal takes an order. The facts are kept whatever the status, so arrival order does not matter:
 * `payment.authorized` before `inventory.reserved` stays PENDING and the reservation then makes it PAID; a
 * late event for a cancelled order changes a fact and nothing else. A signal seen twice decides nothing new.
 */
export function decide(order: OrderFacts, signal: Signal): Decision {
  const facts: OrderFacts = { ...order };
  const steps: Step[] = [];
  const status = () => steps.at(-1)?.to ?? order.status;

  switch (signal.kind) {
    case 'STOCK_RESERVED':
      facts.stockReserved = true;
      break;
    case 'PAYMENT_AUTHORIZED':
      facts.paymentAuthorized = true;
      break;
    case 'PAYMENT_CAPTURED':
      // A capture implies the authorization, whichever of the two topics is read first.
      facts.paymentAuthorized = true;
      facts.paymentCaptured = true;
      break;
    case 'STOCK_RESERVATION_FAILED':
      if (status() === 'PENDING') steps.push(cancel('PENDING', 'OUT_OF_STOCK'));
      break;
    case 'PAYMENT_FAILED':
      if (status() === 'PENDING') steps.push(cancel('PENDING', 'PAYMENT_FAILED'));
      break;
    case 'STOCK_RELEASED':
      facts.stockReserved = false;
      if (signal.reason === 'EXPIRED' && (status() === 'PENDING' || status() === 'PAID')) {
        // A paid order whose stock is no longer held cannot ship: cancel it (payments voids the payment).
        steps.push(cancel(status(), 'RESERVATION_EXPIRED'));
      } else if (signal.reason === 'PAYMENT_FAILED' && status() === 'PENDING') {
        steps.push(cancel('PENDING', 'PAYMENT_FAILED'));
      }
      break;
    case 'PAYMENT_REFUNDED':
      facts.refundedCents = order.refundedCents + signal.amountCents;
      break;
  }

  // Move forward as far as the facts justify.
  if (status() === 'PENDING' && facts.stockReserved && facts.paymentAuthorized) {
    steps.push(step('PENDING', 'PAID', 'STOCK_RESERVED_AND_PAYMENT_AUTHORIZED'));
  }
  if (status() === 'PAID' && facts.paymentCaptured) {
    steps.push(step('PAID', 'PROCESSING', 'PAYMENT_CAPTURED'));
  }
  if (
    facts.refundedCents >= facts.totalCents &&
    facts.refundedCents > 0n &&
    canTransition(status(), 'REFUNDED')
  ) {
    steps.push(step(status(), 'REFUNDED', 'PAYMENT_REFUNDED'));
  }
  facts.status = status();
  return { facts, steps };
}

/** What a client may ask of an order; the state machine says from where. */
export type Command = 'CANCEL' | 'SHIP' | 'DELIVER';

const commandTarget: Record<Command, OrderStatus> = {
  CANCEL: 'CANCELLED',
  SHIP: 'SHIPPED',
  DELIVER: 'DELIVERED',
};

/** The step a command causes, or undefined when the state machine refuses it from this status. */
export function commandStep(
  status: OrderStatus,
  command: Command,
  cancellationReason?: CancellationReason,
): Step | undefined {
  const to = commandTarget[command];
  if (!canTransition(status, to)) return undefined;
  if (command === 'CANCEL') return cancel(status, cancellationReason ?? 'CUSTOMER_REQUEST');
  return step(status, to, command === 'SHIP' ? 'SHIPPED' : 'DELIVERED');
}
