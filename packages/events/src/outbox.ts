import type { Logger } from '@shop/kit';
import pg from 'pg';
import { type AnyEventEnvelope, eventKey } from './envelope';
import type { KafkaConnection } from './kafka';
import type { RawSqlExecutor } from './sql';

/**
 * Writes events to the outbox inside the caller's transaction, next to the state change they describe:
 * both commit or neither does. The relay publishes them afterwards, in outbox order.
 *
 * Rule for per-aggregate order: write (and so lock) the aggregate's row BEFORE enqueueing its event. Outbox
 * order is insert order, not commit order; with the row lock taken first, a second transaction on the same
 * aggregate cannot insert its event until the first has committed, so their events leave in commit order.
 */
export async function enqueueEvents(tx: RawSqlExecutor, events: readonly AnyEventEnvelope[]): Promise<void> {
  for (const event of events) {
    await tx.$executeRaw`
      INSERT INTO outbox_events (id, topic, key, envelope)
      VALUES (${event.id}::uuid, ${event.type}, ${eventKey(event)}, ${JSON.stringify(event)}::jsonb)`;
  }
}

export interface OutboxRelayOptions {
  databaseUrl: string;
  connection: KafkaConnection;
  logger: Logger;
  batchSize?: number;
  pollIntervalMs?: number;
  /** Longest pause between attempts while Kafka is unreachable. */
  maxBackoffMs?: number;
}

// One publisher per database at a time (pg advisory lock): events leave in outbox order, so one aggregate's
// events reach Kafka in the order they were written, and two relays never publish the same row.
const RELAY_LOCK_KEY = 0x5eb0_0b0c;

interface OutboxRow {
  id: string;
  topic: string;
  key: string;
  envelope: unknown;
}

/**
 * Publishes outbox rows to Kafka in order and marks them sent in the same database transaction that locked
 * them. A crash after the send and before the commit republishes those rows (at-least-once); consumers
 * deduplicate by event id. Several relays may run (one per subgraph instance): only the lock holder works.
 */
export class OutboxRelay {
  private readonly pool: pg.Pool;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly maxBackoffMs: number;
  private readonly logger: Logger;
  private running = false;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;

  constructor(private readonly options: OutboxRelayOptions) {
    this.pool = new pg.Pool({ connectionString: options.databaseUrl, max: 2 });
    this.pool.on('error', (error) =>
      this.logger.warn({ err: error }, 'outbox relay database connection error'),
    );
    this.batchSize = options.batchSize ?? 100;
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.logger = options.logger.child({ component: 'outbox-relay' });
  }

  /** Publishes one batch; returns how many rows it published (0 when idle or another relay holds the lock). */
  async publishBatch(): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows: lock } = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_xact_lock($1) AS locked',
        [RELAY_LOCK_KEY],
      );
      if (!lock[0]?.locked) {
        await client.query('ROLLBACK');
        return 0;
      }
      const { rows } = await client.query<OutboxRow>(
        `SELECT id, topic, key, envelope FROM outbox_events
         WHERE published_at IS NULL ORDER BY sequence LIMIT $1 FOR UPDATE`,
        [this.batchSize],
      );
      if (rows.length === 0) {
        await client.query('ROLLBACK');
        return 0;
      }
      try {
        await this.send(rows);
      } catch (error) {
        await client.query('ROLLBACK');
        await this.recordFailure(rows, error);
        throw error;
      }
      await client.query(
        'UPDATE outbox_events SET published_at = now(), attempts = attempts + 1 WHERE id = ANY($1::uuid[])',
        [rows.map((row) => row.id)],
      );
      await client.query('COMMIT');
      return rows.length;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  private async send(rows: OutboxRow[]): Promise<void> {
    const { connection } = this.options;
    const producer = await connection.producer();
    // sendBatch keeps the rows' order within each topic-partition.
    const byTopic = new Map<string, OutboxRow[]>();
    for (const row of rows) byTopic.set(row.topic, [...(byTopic.get(row.topic) ?? []), row]);
    await producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, topicRows]) => ({
        topic: connection.topic(topic),
        messages: topicRows.map((row) => ({
          key: row.key,
          value: JSON.stringify(row.envelope),
          headers: { 'event-id': row.id, 'event-type': topic },
        })),
      })),
    });
  }

  private async recordFailure(rows: OutboxRow[], error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    await this.pool
      .query('UPDATE outbox_events SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::uuid[])', [
        rows.map((row) => row.id),
        message.slice(0, 2_000),
      ])
      .catch((failure: unknown) =>
        this.logger.warn({ err: failure }, 'could not record the publish failure'),
      );
  }

  /** Publishes until the outbox is empty, then polls; backs off while Kafka or Postgres is unreachable. */
  start(): void {
    if (this.stopped) throw new Error('this outbox relay was stopped; make a new one');
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      let failures = 0;
      while (this.running) {
        let published = 0;
        try {
          published = await this.publishBatch();
          if (failures > 0) this.logger.info({ failures }, 'outbox relay recovered');
          failures = 0;
        } catch (error) {
          failures++;
          this.logger.warn({ err: error, failures }, 'outbox relay could not publish, will retry');
        }
        if (this.running && (published < this.batchSize || failures > 0)) {
          const pause =
            failures > 0
              ? Math.min(this.maxBackoffMs, this.pollIntervalMs * 2 ** failures)
              : this.pollIntervalMs;
          await this.sleep(pause);
        }
      }
    })();
  }

  /** Publish now instead of at the next poll (after a local write, say). */
  wake(): void {
    this.wakeUp?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Removes rows published longer ago than `olderThanMs` (the outbox is a queue, not an archive). */
  async purgePublished(olderThanMs: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      `DELETE FROM outbox_events WHERE published_at < now() - ($1::double precision * interval '1 millisecond')`,
      [olderThanMs],
    );
    return rowCount ?? 0;
  }

  /** Finishes the batch in flight, then closes the pool. Safe to call more than once. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.running = false;
    this.wake();
    await this.loop;
    await this.pool.end();
  }
}
