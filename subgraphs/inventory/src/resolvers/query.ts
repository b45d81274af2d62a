import type { QueryResolvers } from '../generated/resolvers';

export const Query: QueryResolvers = {
  inventoryItems: (_root, args, { inventory, viewer }) => inventory.inventoryItems(viewer, args),
  inventoryByProduct: (_root, { productId }, { inventory }) => inventory.inventoryByProduct(productId),
};
