import { money } from '@shop/kit';
import type { OrderResolvers } from '../generated/resolvers';

export const Order: OrderResolvers = {
  // Another subgraph's reference (a payment's order): only for its owner or an admin, else null.
  __resolveReference: ({ id }, { orders, viewer, loaders }) =>
    orders.orderVisibleTo(viewer, id, loaders.orderById),
  user: (order) => ({ id: order.userId }),
  total: (order) => money(order.total, order.currency),
  refundedAmount: (order) => money(order.refundedAmount, order.currency),
  stockReserved: (order) => order.stockReservedAt !== null,
  paymentAuthorized: (order) => order.paymentAuthorizedAt !== null,
  paymentCaptured: (order) => order.paymentCapturedAt !== null,
  statusHistory: (order, _args, { loaders }) => loaders.historyByOrderId.load(order.id),
};
