import { money } from '@shop/kit';
import type { ProductConnectionResolvers, ProductResolvers } from '../generated/resolvers';

export const Product: ProductResolvers = {
  // Other subgraphs' references (cart lines, order items): batched per request, one query per batch.
  __resolveReference: (reference, { loaders }) => loaders.productById.load(reference.id),
  price: (product) => money(product.price, product.currency),
  createdAt: (product) => product.createdAt.toISOString(),
  updatedAt: (product) => product.updatedAt.toISOString(),
};

export const ProductConnection: ProductConnectionResolvers = {
  // Counted only when a client selects it.
  totalCount: (list) => list.countTotal(),
};
