import type { EventConsumerOptions, EventEnvelope } from '@shop/events';
import { toCents } from '../money';
import type { Signal } from '../order-state';
import type { OrdersService } from '../orders.service';

/** The consumer group that moves orders; its dead letters are `dlq.orders`. */
export const ORDERS_GROUP = 'orders';

/**
 * The orders group: inventory and payment events move orders through the state machine (each event is one
 * Signal, see order-state.ts). Idempotent (each event id is claimed in the transaction of its changes) and
 * independent of arrival order (the order keeps the facts, whichever topic is read first).
 */
export function orderConsumers(orders: OrdersService): EventConsumerOptions[] {
  const apply = async (event: EventEnvelope & { data: { orderId: string } }, signal: Signal) => {
    await orders.applyEvent(ORDERS_GROUP, event, event.data.orderId, signal);
  };
  return [
    {
      groupId: ORDERS_GROUP,
      handlers: {
        'inventory.reserved': (event) => apply(event, { kind: 'STOCK_RESERVED' }),
        'inventory.reservation-failed': (event) => apply(event, { kind: 'STOCK_RESERVATION_FAILED' }),
        'inventory.released': (event) => apply(event, { kind: 'STOCK_RELEASED', reason: event.data.reason }),
        'payment.authorized': (event) => apply(event, { kind: 'PAYMENT_AUTHORIZED' }),
        'payment.failed': (event) => apply(event, { kind: 'PAYMENT_FAILED' }),
        'payment.captured': (event) => apply(event, { kind: 'PAYMENT_CAPTURED' }),
        'payment.refunded': (event) =>
          apply(event, { kind: 'PAYMENT_REFUNDED', amountCents: toCents(event.data.amount.amount) }),
      },
    },
  ];
}
