import type { QueryResolvers } from '../generated/resolvers';

export const Query: QueryResolvers = {
  payment: (_root, { id }, { payments, viewer }) => payments.payment(viewer, id),
  paymentByOrder: (_root, { orderId }, { payments, viewer }) => payments.paymentByOrder(viewer, orderId),
};
