import type { EventEnvelope } from '@shop/events';
import { requireViewer } from '@shop/kit';
import type { Context } from '../context';
import type { SubscriptionResolvers } from '../generated/resolvers';

export const Subscription: SubscriptionResolvers = {
  notificationReceived: {
    // Only the signed-in user's own notifications (admin alerts have no user and reach no one here).
    subscribe: (_root, _args, { feed, viewer }) => {
      const subscriber = requireViewer(viewer);
      return feed.subscribe((event) => event.data.userId === subscriber.userId);
    },
    resolve: async (event: EventEnvelope<'notification.created'>, _args: unknown, context: Context) => {
      const notification = await context.notifications.received(
        requireViewer(context.viewer),
        event.data.notificationId,
      );
      if (notification === null) throw new Error(`notification ${event.data.notificationId} is not there`);
      return notification;
    },
  },
};
