import { BroadcastFeed, type EventConsumerOptions, type KafkaConnection } from '@shop/events';
import type { NotificationsService, OrderEvent } from '../notifications.service';

/** The consumer group: one per subgraph, so every instance shares the work and each event is handled once. */
export const notificationsGroup = 'notifications';

/**
 * Every business event someone should hear about becomes one notification. A new group starts at the
 * latest offset (no emails for old history). Handlers only record (render, store PENDING, enqueue
 * notification.created) through handleOnce; sending is the delivery job's, so a slow SMTP server never
 * holds a partition. An order or payment event that comes before its order.placed is parked, not retried
 * (see NotificationsService.onOrderEvent): the default few quick retries are for passing failures only.
 */
export function notificationConsumers(service: NotificationsService): EventConsumerOptions[] {
  return [
    {
      groupId: notificationsGroup,
      handlers: {
        'order.placed': (event) => service.onOrderPlaced(event),
        'order.shipped': (event) => service.onOrderEvent(event as OrderEvent),
        'order.cancelled': (event) => service.onOrderEvent(event as OrderEvent),
        'payment.authorized': (event) => service.onOrderEvent(event as OrderEvent),
        'payment.failed': (event) => service.onOrderEvent(event as OrderEvent),
        'inventory.low-stock': (event) => service.onLowStock(event),
      },
    },
  ];
}
/** `notificationReceived`'s source: every instance reads every notification.created. */
export function notificationFeed(connection: KafkaConnection) {
  return new BroadcastFeed(connection, { name: 'notifications', topics: ['notification.created'] });
}

export type NotificationFeed = ReturnType<typeof notificationFeed>;
