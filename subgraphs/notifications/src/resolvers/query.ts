import type { QueryResolvers } from '../generated/resolvers';

export const Query: QueryResolvers = {
  myNotifications: (_root, args, { notifications, viewer }) => notifications.myNotifications(viewer, args),
  notification: (_root, { id }, { notifications, viewer }) => notifications.notification(viewer, id),
  allNotifications: (_root, args, { notifications, viewer }) => notifications.allNotifications(viewer, args),
};
