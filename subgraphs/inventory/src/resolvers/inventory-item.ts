import type { InventoryItemResolvers } from '../generated/resolvers';

export const InventoryItem: InventoryItemResolvers = {
  // References from other subgraphs: batched per request, one query per batch.
  __resolveReference: ({ id }, { loaders }) => loaders.itemById.load(id),
  product: (item) => ({ id: item.productId }),
  lowStock: (item) => item.availableQuantity <= item.reorderLevel,
  transactions: (item, args, { inventory, viewer }) => inventory.transactions(viewer, item.id, args),
};
