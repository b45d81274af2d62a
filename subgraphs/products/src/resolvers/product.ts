import { money } from '@shop/kit';
import type { ProductResolvers } from '../generated/resolvers';

export const Product: ProductResolvers = {
  // Other subgraphs' references (cart lines, order items): batched per request, one query per batch.
  __resolveReference: ({ id }, { loaders }) => loaders.productById.load(id),
  price: (product) => money(product.price, product.currency),
};
