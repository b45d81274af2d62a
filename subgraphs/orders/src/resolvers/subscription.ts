import type { FeedEvent } from '@shop/events';
import type { SubscriptionResolvers } from '../generated/resolvers';
import type { OrderStatus } from '../order-state';
import type { StatusChange } from '../orders.service';

export const Subscription: SubscriptionResolvers = {
  orderStatusChanged: {
    // Authorised once, at subscribe: the owner or an admin (NOT_FOUND for anyone else).
    subscribe: async (_root, { orderId }, { orders, viewer, statusFeed }) => {
      const id = await orders.watchOrder(viewer, orderId);
      return statusFeed.subscribe((event) => event.data.orderId === id);
    },
    resolve: (event: FeedEvent<'order.status-changed'>): StatusChange => ({
      orderId: event.data.orderId,
      from: event.data.from as OrderStatus,
      to: event.data.to as OrderStatus,
      reason: event.data.reason ?? null,
      at: event.occurredAt,
    }),
  },
};
