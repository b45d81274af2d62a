import type { QueryResolvers } from '../generated/resolvers';

export const Query: QueryResolvers = {
  order: (_root, { id }, { orders, viewer }) => orders.order(viewer, id),
  myOrders: (_root, args, { orders, viewer }) => orders.myOrders(viewer, args),
  orders: (_root, args, { orders, viewer }) => orders.orders(viewer, args),
};
