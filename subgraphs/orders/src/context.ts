import type { BroadcastFeed } from '@shop/events';
import { createByIdLoader, type RequestContext } from '@shop/kit';
import DataLoader from 'dataloader';
import type { HistoryEntryRecord, OrderRecord, OrdersRepository } from './orders.repository';
import type { OrdersService } from './orders.service';

/** What every orders resolver receives: the verified viewer plus per-request loaders, the service and the feed. */
export type Context = RequestContext & {
  loaders: {
    orderById: DataLoader<string, OrderRecord | null>;
    historyByOrderId: DataLoader<string, HistoryEntryRecord[]>;
  };
  orders: OrdersService;
  /** `order.status-changed` as it happens, for subscriptions. */
  statusFeed: BroadcastFeed<'order.status-changed'>;
};

/** A fresh context per request (and per subscription operation): loaders never outlive their caller. */
export function createContext(
  orders: OrdersService,
  repository: OrdersRepository,
  statusFeed: BroadcastFeed<'order.status-changed'>,
) {
  return (base: RequestContext): Context => ({
    ...base,
    orders,
    statusFeed,
    loaders: {
      // Unfiltered: callers decide who may see what (the service's orderVisibleTo for references).
      orderById: createByIdLoader((ids) => repository.findByIds(ids)),
      // One query for the histories of every order of a page.
      historyByOrderId: new DataLoader(async (ids: readonly string[]) => {
        const entries = await repository.historyOf(ids);
        return ids.map((id) => entries.filter((entry) => entry.orderId === id));
      }),
    },
  });
}
