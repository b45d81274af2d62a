import type { QueryResolvers } from '../generated/resolvers';

export const Query: QueryResolvers = {
  product: (_root, { id }, { products, viewer }) => products.product(viewer, id),
  products: (_root, args, { products, viewer }) => products.products(viewer, args),
};
