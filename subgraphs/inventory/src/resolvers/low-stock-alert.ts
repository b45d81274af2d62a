import { notFound } from '@shop/kit';
import type { LowStockAlertResolvers } from '../generated/resolvers';

export const LowStockAlert: LowStockAlertResolvers = {
  // The item as it is now; the alert's own fields say how it was when stock fell low.
  inventoryItem: async (alert, _args, { loaders }) =>
    (await loaders.itemById.load(alert.inventoryId)) ??
    Promise.reject(notFound('InventoryItem', alert.inventoryId)),
};
