import { type InventoryMetrics, type Logger, PeriodicJob } from '@shop/kit';
import type { BackgroundService } from '@shop/runtime';
import type { InventoryService } from './inventory.service';

export interface ReservationExpirySettings {
  intervalMs: number;
  /** Orders released per run (one transaction); a full batch runs again at once. */
  batchSize: number;
}

/**
 * The ReservationExpiryJob of the specification: every `intervalMs` (a minute by default) it releases the
 * reservations past their expiry. Every instance runs it; the claim (FOR UPDATE SKIP LOCKED on the orders'
 * state rows) keeps two instances from releasing one order twice, so no cross-instance lock is needed.
 */
export function reservationExpiryJob(
  inventory: InventoryService,
  settings: ReservationExpirySettings,
  logger: Logger,
  metrics?: InventoryMetrics,
): BackgroundService {
  const job = new PeriodicJob({
    name: 'reservation-expiry',
    intervalMs: settings.intervalMs,
    // Instances started together do not claim in step.
    jitterMs: Math.round(settings.intervalMs / 10),
    batchSize: settings.batchSize,
    run: async () => {
      try {
        const expired = await inventory.expireReservations(settings.batchSize);
        metrics?.expiryRuns.inc({ outcome: 'ok' });
        metrics?.reservationsExpired.inc(expired.reservations);
        // A full batch of orders runs again at once.
        return expired.orders;
      } catch (error) {
        metrics?.expiryRuns.inc({ outcome: 'error' });
        throw error;
      }
    },
    logger,
  });
  return { name: 'reservation-expiry', start: () => job.start(), stop: () => job.stop() };
}
