import type { OrderStatusChangeResolvers } from '../generated/resolvers';

export const OrderStatusChange: OrderStatusChangeResolvers = {
  // Read afresh for every change (a subscription's context, and so its loaders, lasts as long as it does),
  // and authorised again: the owner or an admin.
  order: ({ orderId }, _args, { orders, viewer }) => orders.order(viewer, orderId),
};
