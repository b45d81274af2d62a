import type { MutationResolvers } from '../generated/resolvers';

export const Mutation: MutationResolvers = {
  retryNotification: (_root, { id }, { notifications, viewer }) =>
    notifications.retryNotification(viewer, id),
};
