import type { ProductConnectionResolvers } from '../generated/resolvers';

export const ProductConnection: ProductConnectionResolvers = {
  // Counted only when a client selects it.
  totalCount: (list) => list.countTotal(),
};
