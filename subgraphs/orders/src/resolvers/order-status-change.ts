import type { OrderStatusChangeResolvers } from '../generated/resolvers';

export const OrderStatusChange: OrderStatusChangeResolvers = {
  // The order as it is now; the subscriber was authorised for it at subscribe.
  order: async ({ orderId }, _args, { loaders }) => {
    const order = await loaders.orderById.load(orderId);
    if (order === null) throw new Error(`order ${orderId} of a status change is missing`);
    return order;
  },
};
