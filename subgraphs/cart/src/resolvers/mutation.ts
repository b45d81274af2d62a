import type { MutationResolvers } from '../generated/resolvers';

export const Mutation: MutationResolvers = {
  addCartItem: (_root, args, { carts, viewer }) => carts.addItem(viewer, args),
  updateCartItem: (_root, args, { carts, viewer }) => carts.updateItem(viewer, args),
  removeCartItem: (_root, args, { carts, viewer }) => carts.removeItem(viewer, args),
  clearCart: (_root, { guestCartId }, { carts, viewer }) => carts.clear(viewer, guestCartId),
  mergeGuestCart: (_root, { guestCartId }, { carts, viewer }) => carts.mergeGuestCart(viewer, guestCartId),
};
