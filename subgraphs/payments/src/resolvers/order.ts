import type { OrderResolvers } from '../generated/resolvers';

/** An order as payments knows it: its id (orders owns the rest). */
export interface OrderReference {
  id: string;
}

export const Order: OrderResolvers = {
  __resolveReference: ({ id }) => ({ id }),
  payment: async (order, _args, { loaders, payments, viewer }) =>
    payments.visible(viewer, await loaders.paymentByOrderId.load(order.id)),
};
