import type { FeedEvent } from '@shop/events';
import { normaliseId, requireAdmin } from '@shop/kit';
import type { Context } from '../context';
import type { SubscriptionResolvers } from '../generated/resolvers';

export const Subscription: SubscriptionResolvers = {
  lowStockAlerts: {
    subscribe: (_root, _args, { feeds, viewer }) => {
      requireAdmin(viewer);
      return feeds.lowStock.subscribe();
    },
    // The context (and its loaders) lives as long as the subscription: forget the item, so each alert shows it
    // as it is when the alert is delivered.
    resolve: (event: FeedEvent<'inventory.low-stock'>, _args: unknown, { loaders }: Context) => {
      loaders.itemById.clear(event.data.inventoryId);
      return {
        inventoryId: event.data.inventoryId,
        availableQuantity: event.data.availableQuantity,
        reorderLevel: event.data.reorderLevel,
        reorderQuantity: event.data.reorderQuantity,
        occurredAt: event.occurredAt,
      };
    },
  },
  inventoryChanged: {
    subscribe: (_root, { productId }, { feeds }) => {
      const wanted = normaliseId(productId);
      return feeds.stockChanged.subscribe((event) => event.data.productId === wanted);
    },
    // The item's other fields as they are now; its quantities as they were right after this change.
    resolve: async (event: FeedEvent<'inventory.stock-changed'>, _args: unknown, { loaders }: Context) => {
      const item = await loaders.itemById.clear(event.data.inventoryId).load(event.data.inventoryId);
      if (!item) throw new Error(`inventory item ${event.data.inventoryId} is gone`);
      return {
        ...item,
        availableQuantity: event.data.availableQuantity,
        reservedQuantity: event.data.reservedQuantity,
        totalQuantity: event.data.totalQuantity,
      };
    },
  },
};
