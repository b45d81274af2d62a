import type { QueryResolvers } from '../generated/resolvers';

export const Query: QueryResolvers = {
  cart: (_root, { guestCartId }, { carts, viewer }) => carts.cart(viewer, guestCartId),
};
