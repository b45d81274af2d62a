import { money } from '@shop/kit';
import type { ProductResolvers } from '../generated/resolvers';

export const Product: ProductResolvers = {
  // Other subgraphs' references (cart lines, order items): batched per request, one query per batch; inactive
  // products only for admins and the gateway's plans.
  __resolveReference: async ({ id }, { loaders, products, viewer, client }) =>
    products.referencedProduct(viewer, client, await loaders.productById.load(id)),
  price: (product) => money(product.price, product.currency),
};
