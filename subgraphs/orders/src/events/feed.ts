import { BroadcastFeed, type KafkaConnection } from '@shop/events';

/** `order.status-changed` for `Subscription.orderStatusChanged`: every instance reads every message. */
export function orderStatusFeed(connection: KafkaConnection): BroadcastFeed<'order.status-changed'> {
  return new BroadcastFeed(connection, { name: 'order-status', topics: ['order.status-changed'] });
}
