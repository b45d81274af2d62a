import { traceCarrier } from '@shop/kit';
import type { EventData, EventType } from './catalogue';
import { type AnyEventEnvelope, createEvent, eventKey } from './envelope';
import type { RawSqlExecutor, TransactionRunner } from './sql';

/**
 * Writes events to the outbox inside the caller's transaction, next to the state change they describe:
 * both commit or neither does. The relay publishes them afterwards, in outbox order.
 *
 * Rule for per-aggregate order: write (and so lock) the aggregate's row BEFORE enqueueing its event. Outbox
 * order is insert order, not commit order; with the row lock taken first, a second transaction on the same
 * aggregate cannot insert its event until the first has committed, so their events leave in commit order.
 */
export async function enqueueEvents(tx: RawSqlExecutor, events: readonly AnyEventEnvelope[]): Promise<void> {
  // The writer's trace context (its request's span), so the relay's message continues the same trace.
  const carrier = traceCarrier();
  await insertOutboxRows(
    tx,
    events.map((event) => ({ event, traceContext: carrier })),
  );
}

interface OutboxRow {
  event: AnyEventEnvelope;
  traceContext: ReturnType<typeof traceCarrier>;
}

/**
 * All rows in one statement (a statement is a round trip and Prisma work per call): the rows go as one JSON
 * array and are inserted in its order, so `sequence` (the relay's order) follows the order they were given.
 */
async function insertOutboxRows(tx: RawSqlExecutor, rows: readonly OutboxRow[]): Promise<void> {
  if (rows.length === 0) return;
  // An absent traceContext reads as SQL NULL (`->` of a missing key), as the column's "no trace" was.
  const json = JSON.stringify(
    rows.map(({ event, traceContext }) => ({
      id: event.id,
      topic: event.type,
      key: eventKey(event),
      envelope: event,
      traceContext,
    })),
  );
  await tx.$executeRaw`
    INSERT INTO outbox_events (id, topic, key, envelope, trace_context)
    SELECT (row->>'id')::uuid, row->>'topic', row->>'key', row->'envelope', row->'traceContext'
    FROM jsonb_array_elements(${json}::jsonb) WITH ORDINALITY AS rows(row, position)
    ORDER BY position`;
}

/** What a service says happened; `outboxTransaction` turns it into a validated envelope. */
export interface EventDraft<T extends EventType = EventType> {
  type: T;
  data: EventData<T>;
  /** Defaults to the transaction's `correlationId`, else a new one. */
  correlationId?: string | undefined;
}

/** A draft of any catalogue type, `data` checked against its `type`. */
export type AnyEventDraft = { [T in EventType]: EventDraft<T> }[EventType];

/** Validates drafts, writes them to the outbox in the transaction, and returns their envelopes. */
export type Enqueue = (...drafts: AnyEventDraft[]) => Promise<AnyEventEnvelope[]>;

export interface OutboxTransactionOptions {
  /** The producing service, recorded in every envelope. */
  source: string;
  /** Ties the events to the request that caused them. */
  correlationId?: string | undefined;
  /**
   * Called after COMMIT when the transaction enqueued events: pass `() => relay.wake()` so they leave at
   * once instead of at the relay's next poll. Must not throw (the events are committed either way).
   */
  onCommitted?: ((events: readonly AnyEventEnvelope[]) => void) | undefined;
}

/**
 * One database transaction for a state change and the events describing it: `work` writes through `tx`
 * and calls `enqueue(...drafts)`; everything commits together or not at all. An invalid draft throws
 * (zod) inside the transaction, so nothing is written. `enqueue` validates at once and returns the
 * envelopes; their rows are written in one statement when `work` has finished, just before COMMIT (after
 * every row lock `work` took, so the order rule above still holds; one statement instead of one per event). A repository wraps it so services never see Prisma:
 *
 *   transaction<R>(work: (repo: OrdersRepository, enqueue: Enqueue) => Promise<R>) {
 *     return outboxTransaction(this.prisma, this.outbox, (tx, enqueue) => work(new OrdersRepository(tx, …), enqueue));
 *   }
 */
export async function outboxTransaction<Tx extends RawSqlExecutor, R>(
  db: TransactionRunner<Tx>,
  options: OutboxTransactionOptions,
  work: (tx: Tx, enqueue: Enqueue) => Promise<R>,
): Promise<R> {
  const enqueued: AnyEventEnvelope[] = [];
  const result = await db.$transaction(async (tx) => {
    const pending: OutboxRow[] = [];
    const enqueue: Enqueue = async (...drafts) => {
      const events = drafts.map((draft) => envelopeOf(draft, options));
      // The trace context where the event was enqueued (the work may switch spans before it ends).
      const traceContext = traceCarrier();
      for (const event of events) pending.push({ event, traceContext });
      return events;
    };
    const outcome = await work(tx, enqueue);
    await insertOutboxRows(tx, pending);
    enqueued.push(...pending.map((row) => row.event));
    return outcome;
  });
  if (enqueued.length > 0 && options.onCommitted) {
    try {
      options.onCommitted(enqueued);
    } catch {
      // Committed already: the relay's next poll publishes them anyway; failing the caller would lie.
    }
  }
  return result;
}

function envelopeOf(draft: AnyEventDraft, options: OutboxTransactionOptions): AnyEventEnvelope {
  // TypeScript cannot correlate `type` and `data` across the union; createEvent validates data at run time.
  return createEvent(draft.type as EventType, draft.data as never, {
    source: options.source,
    correlationId: draft.correlationId ?? options.correlationId,
  }) as AnyEventEnvelope;
}

/**
 * A repository's `transaction(work)`, the one way: `work` gets a repository bound to one database transaction
 * (`bind(tx)`) and `enqueue`, so a service writes rows and their events together without seeing Prisma. Only
 * the root repository (built on the client, with the subgraph's outbox options) can start one.
 */
export function repositoryTransaction<Tx extends RawSqlExecutor, Repository, R>(
  db: TransactionRunner<Tx> | Tx,
  outbox: OutboxTransactionOptions | undefined,
  bind: (tx: Tx) => Repository,
  work: (repository: Repository, enqueue: Enqueue) => Promise<R>,
): Promise<R> {
  if (!outbox || !('$transaction' in db)) {
    throw new Error('transaction() is for the root repository (nested transactions are not supported)');
  }
  return outboxTransaction(db as TransactionRunner<Tx>, outbox, (tx, enqueue) => work(bind(tx), enqueue));
}
