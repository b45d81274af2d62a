import { createByIdLoader, type RequestContext } from '@shop/kit';
import type DataLoader from 'dataloader';
import type { InventoryFeeds } from './events/feeds';
import type { InventoryRecord, InventoryRepository } from './inventory.repository';
import type { InventoryService } from './inventory.service';

/** What every inventory resolver receives: the verified viewer, the service, feeds and per-request loaders. */
export type Context = RequestContext & {
  inventory: InventoryService;
  feeds: InventoryFeeds;
  loaders: {
    itemById: DataLoader<string, InventoryRecord | null>;
    /** Keyed by product id: `Product { inventory inStock }` of a whole batch in one query. */
    itemByProductId: DataLoader<string, { id: string; item: InventoryRecord } | null>;
  };
};

/** A fresh context per request (and per subscription operation): loaders never outlive their caller. */
export function createContext(
  inventory: InventoryService,
  repository: InventoryRepository,
  feeds: InventoryFeeds,
) {
  return (base: RequestContext): Context => ({
    ...base,
    inventory,
    feeds,
    loaders: {
      itemById: createByIdLoader((ids) => repository.findByIds(ids)),
      itemByProductId: createByIdLoader(async (productIds) =>
        (await repository.findByProductIds(productIds)).map((item) => ({ id: item.productId, item })),
      ),
    },
  });
}
