import { BroadcastFeed, type KafkaConnection } from '@shop/events';

/** The broadcast feeds the Subscription resolvers read (every instance reads every message). */
export interface InventoryFeeds {
  lowStock: BroadcastFeed<'inventory.low-stock'>;
  stockChanged: BroadcastFeed<'inventory.stock-changed'>;
}

export function inventoryFeeds(connection: KafkaConnection): InventoryFeeds {
  return {
    lowStock: new BroadcastFeed(connection, { name: 'inventory-low-stock', topics: ['inventory.low-stock'] }),
    stockChanged: new BroadcastFeed(connection, {
      name: 'inventory-stock-changed',
      topics: ['inventory.stock-changed'],
    }),
  };
}
