import { type Logger, PeriodicJob } from '@shop/kit';
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
): BackgroundService {
  const job = new PeriodicJob({
    name: 'reservation-expiry',
    intervalMs: settings.intervalMs,
    // Instances started together do not claim in step.
    jitterMs: Math.round(settings.intervalMs / 10),
    batchSize: settings.batchSize,
    run: () => inventory.expireReservations(settings.batchSize),
    logger,
  });
  return { name: 'reservation-expiry', start: () => job.start(), stop: () => job.stop() };
}
