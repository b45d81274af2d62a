import type { EventEnvelope } from '@shop/events';
import type { PaymentStatusEventResolvers, SubscriptionResolvers } from '../generated/resolvers';
import type { PaymentStatus } from '../payment-status';

/** What the feed hands the subscription: the `payment.status-changed` envelope itself. */
export type PaymentStatusEnvelope = EventEnvelope<'payment.status-changed'>;

export const Subscription: SubscriptionResolvers = {
  paymentStatusChanged: {
    // Authorised once, when the client subscribes; the filter keeps the order's events (and the viewer's).
    subscribe: async (_root, { orderId }, { payments, statusFeed, viewer }) =>
      statusFeed.subscribe(await payments.statusFeedFilter(viewer, orderId)),
    resolve: (event: PaymentStatusEnvelope) => event,
  },
};

export const PaymentStatusEvent: PaymentStatusEventResolvers = {
  paymentId: (event) => event.data.paymentId,
  orderId: (event) => event.data.orderId,
  from: (event) => event.data.from as PaymentStatus,
  to: (event) => event.data.to as PaymentStatus,
  occurredAt: (event) => event.occurredAt,
  // The context lives as long as the subscription: read the payment afresh for every event.
  payment: (event, _args, { loaders }) =>
    loaders.paymentById.clear(event.data.paymentId).load(event.data.paymentId),
};
