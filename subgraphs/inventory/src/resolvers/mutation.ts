import type { MutationResolvers } from '../generated/resolvers';

export const Mutation: MutationResolvers = {
  createInventory: (_root, { input }, { inventory, viewer, token }) =>
    inventory.createInventory(viewer, input, token),
  updateInventory: (_root, { id, input }, { inventory, viewer }) =>
    inventory.updateInventory(viewer, id, input),
  adjustStock: (_root, { inventoryId, input }, { inventory, viewer }) =>
    inventory.adjustStock(viewer, inventoryId, input),
};
