import type { MutationResolvers } from '../generated/resolvers';

export const Mutation: MutationResolvers = {
  createProduct: (_root, { input }, { products, viewer }) => products.createProduct(viewer, input),
  updateProduct: (_root, { id, input }, { products, viewer }) => products.updateProduct(viewer, id, input),
};
