import type { EventConsumerOptions } from '@shop/events';
import { CONSUMER_GROUP, type PaymentsService } from '../payments.service';

/**
 * The `payments` consumer group: orders drive payments (a PENDING payment per placed order, capture on
 * shipment, release or refund on cancellation) and inventory releases an intent whose stock is gone. Each
 * handler is idempotent: its processed-event mark commits with its writes, and Stripe calls carry
 * deterministic idempotency keys. `order.placed` and `order.cancelled` may arrive in either order.
 */
export function paymentConsumers(payments: PaymentsService): EventConsumerOptions[] {
  return [
    {
      groupId: CONSUMER_GROUP,
      handlers: {
        'order.placed': (event) => payments.onOrderPlaced(event),
        'order.shipped': (event) => payments.onOrderShipped(event),
        'order.cancelled': (event) => payments.onOrderCancelled(event),
        'inventory.reservation-failed': (event) => payments.onReservationFailed(event),
      },
    },
  ];
}
