import type { CartItemResolvers } from '../generated/resolvers';

export const CartItem: CartItemResolvers = {
  // A reference the gateway resolves in the products subgraph: any product field is one selection away.
  product: (item) => ({ __typename: 'Product', id: item.productId }),
};
