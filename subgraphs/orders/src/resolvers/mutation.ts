import type { MutationResolvers } from '../generated/resolvers';

export const Mutation: MutationResolvers = {
  placeOrder: (_root, { input }, { orders, viewer }) => orders.placeOrder(viewer, input),
  // The cart is read with the caller's own token: the cart subgraph decides whose cart it is.
  checkout: (_root, { input }, { orders, viewer, token }) => orders.checkout(viewer, token, input),
  cancelOrder: (_root, { id }, { orders, viewer }) => orders.cancelOrder(viewer, id),
  shipOrder: (_root, { id }, { orders, viewer }) => orders.shipOrder(viewer, id),
  deliverOrder: (_root, { id }, { orders, viewer }) => orders.deliverOrder(viewer, id),
};
