import type { EventEnvelope } from './envelope';
import { noteDuplicate } from './metrics';
import type { RawSqlExecutor, TransactionRunner } from './sql';

/**
 * Records that `consumerGroup` processed `eventId`, inside the caller's transaction. Returns false when it
 * was processed before: the caller then skips its work, so a redelivered or replayed event changes nothing.
 */
export async function claimEvent(
  tx: RawSqlExecutor,
  consumerGroup: string,
  eventId: string,
): Promise<boolean> {
  const inserted = await tx.$executeRaw`
    INSERT INTO processed_events (consumer_group, event_id) VALUES (${consumerGroup}, ${eventId}::uuid)
    ON CONFLICT DO NOTHING`;
  // Counted here, not only in handleOnce: orders, payments and inventory claim inside their own transactions.
  if (inserted !== 1) noteDuplicate();
  return inserted === 1;
}

/**
 * Runs `work` once per event and consumer group: the processed-event row and the work's writes commit in
 * one transaction. Returns 'duplicate' (and runs nothing) for an event seen before.
 */
export async function handleOnce<Tx extends RawSqlExecutor>(
  db: TransactionRunner<Tx>,
  consumerGroup: string,
  event: Pick<EventEnvelope, 'id'>,
  work: (tx: Tx) => Promise<void>,
): Promise<'processed' | 'duplicate'> {
  return db.$transaction(async (tx) => {
    if (!(await claimEvent(tx, consumerGroup, event.id))) return 'duplicate' as const;
    await work(tx);
    return 'processed' as const;
  });
}
