import type { NotificationConnectionResolvers } from '../generated/resolvers';

export const NotificationConnection: NotificationConnectionResolvers = {
  // Counted only when a client selects it.
  totalCount: (list) => list.countTotal(),
};
