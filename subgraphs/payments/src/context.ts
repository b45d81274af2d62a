import type { BroadcastFeed } from '@shop/events';
import { createByIdLoader, normaliseId, type RequestContext } from '@shop/kit';
import DataLoader from 'dataloader';
import type {
  PaymentRecord,
  PaymentsRepository,
  RefundRecord,
  StatusChangeRecord,
} from './payments.repository';
import type { PaymentsService } from './payments.service';

/** What every payments resolver receives: the verified viewer, the service, the feed and per-request loaders. */
export type Context = RequestContext & {
  payments: PaymentsService;
  statusFeed: BroadcastFeed<'payment.status-changed'>;
  loaders: {
    paymentById: DataLoader<string, PaymentRecord | null>;
    paymentByOrderId: DataLoader<string, PaymentRecord | null>;
    historyByPaymentId: DataLoader<string, StatusChangeRecord[]>;
    refundsByPaymentId: DataLoader<string, RefundRecord[]>;
  };
};

/** Groups rows by a key, in the order of `keys` (one batch, one query). */
function groupedLoader<T>(fetch: (keys: string[]) => Promise<T[]>, keyOf: (row: T) => string) {
  return new DataLoader<string, T[]>(async (keys) => {
    const rows = await fetch([...keys]);
    return keys.map((key) => rows.filter((row) => keyOf(row) === key));
  });
}

/** A fresh context per request (and per subscription operation): loaders never outlive their caller. */
export function createContext(
  payments: PaymentsService,
  repository: PaymentsRepository,
  statusFeed: BroadcastFeed<'payment.status-changed'>,
) {
  return (base: RequestContext): Context => ({
    ...base,
    payments,
    statusFeed,
    loaders: {
      paymentById: createByIdLoader((ids) => repository.findByIds(ids)),
      // Order ids arrive from other subgraphs: malformed ones resolve to null without reaching Postgres.
      paymentByOrderId: new DataLoader<string, PaymentRecord | null, string>(
        async (keys) => {
          const ids = keys.map(normaliseId);
          const found = await repository.findByOrderIds([...new Set(ids.filter((id) => id !== undefined))]);
          const byOrder = new Map(found.map((payment) => [payment.orderId, payment]));
          return ids.map((id) => (id === undefined ? null : (byOrder.get(id) ?? null)));
        },
        { cacheKeyFn: (id) => normaliseId(id) ?? id },
      ),
      historyByPaymentId: groupedLoader(
        (ids) => repository.historyOf(ids),
        (row) => row.paymentId,
      ),
      refundsByPaymentId: groupedLoader(
        (ids) => repository.refundsOf(ids),
        (row) => row.paymentId,
      ),
    },
  });
}
