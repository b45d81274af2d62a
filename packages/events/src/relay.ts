import {
  contextFromCarrier,
  type EventMetrics,
  failSpan,
  type Logger,
  PeriodicJob,
  type Span,
  SpanKind,
  spanAttributes,
  spanCarrier,
  startSpan,
} from '@shop/kit';
import pg from 'pg';
import type { KafkaConnection } from './kafka';
import { type PgAdvisoryLock, pgAdvisoryLock } from './pg-lock';

/** Where the outbox lives: a URL (the relay opens and closes a small pool of its own) or the caller's pool. */
export type OutboxDatabase = { databaseUrl: string; pool?: never } | { pool: pg.Pool; databaseUrl?: never };

/** How a relay polls, backs off and purges (every field has a default). */
export interface OutboxRelaySettings {
  batchSize?: number;
  /** Pause between polls of an empty outbox; `wake()` cuts it short after a local write. */
  pollIntervalMs?: number;
  /** Longest pause between attempts while Kafka (or Postgres) is unreachable. */
  maxBackoffMs?: number;
  /**
   * Published rows are deleted once older than `retentionMs` (default 7 days), checked every `intervalMs`
   * (default hourly) by one instance at a time; `false` keeps them.
   */
  purge?: { retentionMs?: number; intervalMs?: number } | false;
}

export type OutboxRelayOptions = OutboxDatabase &
  OutboxRelaySettings & {
    connection: KafkaConnection;
    logger: Logger;
    /** Counts what is published (shop_events_published_total). */
    metrics?: EventMetrics | undefined;
  };

// One publisher per database at a time (advisory lock): events leave in outbox order, so one aggregate's
// events reach Kafka in the order they were written, and two relays never publish the same row.
const RELAY_LOCK_KEY = 0x5eb0_0b0c;
const PURGE_LOCK_KEY = 'shop-events:outbox-purge';
const DAY_MS = 86_400_000;

interface OutboxRow {
  id: string;
  topic: string;
  key: string;
  envelope: unknown;
  /** The writer's trace context (W3C), or null. */
  trace_context: unknown;
}

/** A PRODUCER span for one row, a child of the request that wrote it; its context travels in the message. */
function publishSpan(row: OutboxRow): Span {
  return startSpan(`publish ${row.topic}`, {
    kind: SpanKind.PRODUCER,
    parent: contextFromCarrier(row.trace_context),
    attributes: {
      'messaging.system': 'kafka',
      'messaging.operation.type': 'send',
      'messaging.destination.name': row.topic,
      'messaging.message.id': row.id,
      [spanAttributes.eventType]: row.topic,
    },
  });
}

/**
 * Publishes outbox rows to Kafka in order and marks them sent in the same database transaction that holds
 * the relay lock. A crash after the send and before the commit republishes those rows (at-least-once);
 * consumers deduplicate by event id. Several relays may run (one per subgraph instance): only the lock
 * holder publishes. Runs on PeriodicJob: polls, drains full batches at once, backs off while Kafka is down.
 */
export class OutboxRelay {
  private readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  private readonly batchSize: number;
  private readonly logger: Logger;
  private readonly relayLock: PgAdvisoryLock;
  private readonly publisher: PeriodicJob;
  private readonly purger: PeriodicJob | undefined;
  private stopped: Promise<void> | undefined;
  /** Set by `wake()`: the next run follows a local write, so rows are waiting and the cheap check is skipped. */
  private woken = false;

  constructor(private readonly options: OutboxRelayOptions) {
    this.logger = options.logger.child({ component: 'outbox-relay' });
    this.ownsPool = options.pool === undefined;
    // Three connections at most: the publishing transaction, recording a failure, the purge (lock + delete).
    this.pool = options.pool ?? new pg.Pool({ connectionString: options.databaseUrl, max: 3 });
    if (this.ownsPool) {
      this.pool.on('error', (error) =>
        this.logger.warn({ err: error }, 'outbox relay database connection error'),
      );
    }
    this.batchSize = options.batchSize ?? 100;
    this.relayLock = pgAdvisoryLock(this.pool, RELAY_LOCK_KEY);
    const pollIntervalMs = options.pollIntervalMs ?? 250;
    this.publisher = new PeriodicJob({
      name: 'outbox-relay',
      intervalMs: pollIntervalMs,
      batchSize: this.batchSize,
      backoff: { initialMs: pollIntervalMs, maxMs: options.maxBackoffMs ?? 5_000 },
      run: () => this.publishBatch(),
      logger: this.logger,
    });
    if (options.purge !== false) {
      const retentionMs = options.purge?.retentionMs ?? 7 * DAY_MS;
      const intervalMs = options.purge?.intervalMs ?? 3_600_000;
      this.purger = new PeriodicJob({
        name: 'outbox-purge',
        intervalMs,
        jitterMs: Math.min(intervalMs / 10, 60_000),
        lock: pgAdvisoryLock(this.pool, PURGE_LOCK_KEY),
        run: async () => {
          const purged = await this.purgePublished(retentionMs);
          if (purged > 0) this.logger.info({ purged, retentionMs }, 'purged published outbox rows');
          return purged;
        },
        logger: this.logger,
      });
    }
  }

  /** Publishes one batch; returns how many rows it published (0 when idle or another relay holds the lock). */
  async publishBatch(): Promise<number> {
    // A poll first asks, in one statement outside any transaction, whether anything waits: idle, each poll
    // was a transaction of four statements (BEGIN, the lock, the SELECT, COMMIT) every 250 ms per subgraph,
    // most of the subgraphs' CPU while no one was ordering. A wake after a local write skips the question.
    const woken = this.woken;
    this.woken = false;
    if (!woken && !(await this.hasUnpublished())) return 0;
    let published = 0;
    // Assigned inside the callback (a plain declaration would be narrowed to undefined below).
    let failed = undefined as OutboxRow[] | undefined;
    let sent = undefined as OutboxRow[] | undefined;
    try {
      await this.relayLock(async (client) => {
        // Named statements (here and below): prepared once per connection, not parsed and planned each poll.
        const { rows } = await client.query<OutboxRow>({
          name: 'shop_outbox_next_batch',
          text: `SELECT id, topic, key, envelope, trace_context FROM outbox_events
           WHERE published_at IS NULL ORDER BY sequence LIMIT $1 FOR UPDATE`,
          values: [this.batchSize],
        });
        if (rows.length === 0) return;
        try {
          await this.send(rows);
        } catch (error) {
          failed = rows;
          throw error;
        }
        await client.query({
          name: 'shop_outbox_mark_published',
          text: 'UPDATE outbox_events SET published_at = now(), attempts = attempts + 1 WHERE id = ANY($1::uuid[])',
          values: [rows.map((row) => row.id)],
        });
        published = rows.length;
        sent = rows;
      });
    } catch (error) {
      // The lock's transaction rolled back; the failure is recorded outside it so it sticks.
      if (failed) await this.recordFailure(failed, error);
      throw error;
    }
    for (const row of sent ?? []) this.options.metrics?.published.inc({ topic: row.topic });
    return published;
  }

  private async hasUnpublished(): Promise<boolean> {
    const { rows } = await this.pool.query<{ waiting: boolean }>({
      name: 'shop_outbox_waiting',
      text: 'SELECT EXISTS (SELECT 1 FROM outbox_events WHERE published_at IS NULL) AS waiting',
    });
    return rows[0]?.waiting === true;
  }

  private async send(rows: OutboxRow[]): Promise<void> {
    const { connection } = this.options;
    const producer = await connection.producer();
    // sendBatch keeps the rows' order within each topic-partition.
    const byTopic = new Map<string, OutboxRow[]>();
    for (const row of rows) byTopic.set(row.topic, [...(byTopic.get(row.topic) ?? []), row]);
    const spans = new Map(rows.map((row) => [row, publishSpan(row)]));
    try {
      await producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, topicRows]) => ({
          topic: connection.topic(topic),
          messages: topicRows.map((row) => {
            const span = spans.get(row);
            return {
              key: row.key,
              value: JSON.stringify(row.envelope),
              headers: { 'event-id': row.id, 'event-type': topic, ...(span && spanCarrier(span)) },
            };
          }),
        })),
      });
    } catch (error) {
      for (const span of spans.values()) failSpan(span, error);
      throw error;
    } finally {
      for (const span of spans.values()) span.end();
    }
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

  /** Publishes until the outbox is empty, then polls; purges old published rows on its own schedule. */
  start(): void {
    if (this.stopped) throw new Error('this outbox relay was stopped; make a new one');
    this.publisher.start();
    this.purger?.start();
  }

  /** Publish now instead of at the next poll (after a local write: `onCommitted: () => relay.wake()`). */
  wake(): void {
    this.woken = true;
    this.publisher.trigger();
  }

  /** Removes rows published longer ago than `olderThanMs` (the outbox is a queue, not an archive). */
  async purgePublished(olderThanMs: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      `DELETE FROM outbox_events WHERE published_at < now() - ($1::double precision * interval '1 millisecond')`,
      [olderThanMs],
    );
    return rowCount ?? 0;
  }

  /** Rows not published yet and the age of the oldest in seconds, 0 when none (measured on scrape). */
  async backlog(): Promise<{ rows: number; oldestAgeSeconds: number }> {
    const { rows } = await this.pool.query<{ rows: string; age: number | null }>(
      `SELECT count(*) AS rows, extract(epoch FROM now() - min(created_at))::float8 AS age
       FROM outbox_events WHERE published_at IS NULL`,
    );
    return { rows: Number(rows[0]?.rows ?? 0), oldestAgeSeconds: Math.max(0, rows[0]?.age ?? 0) };
  }

  /** A readiness check: fails once the relay is not running. Kafka being down does not fail it (rows wait). */
  readiness = async (): Promise<void> => {
    if (!this.publisher.running) throw new Error('outbox relay is not running');
  };

  /** Finishes the batch in flight (never waits for a poll), then closes its own pool. Safe to call twice. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      await Promise.all([this.publisher.stop(), this.purger?.stop()]);
      if (this.ownsPool) await this.pool.end();
    })();
    return this.stopped;
  }
}
