import { AsyncLocalStorage } from 'node:async_hooks';
import type { ConsumedOutcome, EventMetrics, Logger, ServiceMetrics } from '@shop/kit';
import type { Admin } from 'kafkajs';
import type { KafkaConnection } from './kafka';

// The events' side of the metrics contract (the names live in @shop/kit's metrics.ts): counters moved where
// events are published, consumed and dead-lettered, and the gauges that need a query (consumer lag, outbox
// backlog) measured when Prometheus scrapes, so nothing polls Kafka or Postgres between scrapes.

/** Set by handleOnce / handleOnceInRedis when the event had been handled before (a duplicate). */
const handling = new AsyncLocalStorage<{ duplicate: boolean }>();

/** Tells the consumer running this handler that its event was a duplicate (no work done). */
export function noteDuplicate(): void {
  const state = handling.getStore();
  if (state) state.duplicate = true;
}

/** Runs one handler call; resolves to whether it found its event already handled. */
export async function runObservedHandler(work: () => Promise<void>): Promise<boolean> {
  const state = { duplicate: false };
  await handling.run(state, work);
  return state.duplicate;
}

/** What one consumer group reports; labels are the group and event type without the topic prefix. */
export interface ConsumerObserver {
  consumed(topic: string, outcome: ConsumedOutcome): void;
  deadLettered(topic: string): void;
}

export function consumerObserver(
  metrics: EventMetrics,
  connection: KafkaConnection,
  group: string,
): ConsumerObserver {
  const unprefixed = (topic: string) =>
    topic.startsWith(connection.topicPrefix) ? topic.slice(connection.topicPrefix.length) : topic;
  return {
    consumed: (topic, outcome) => metrics.consumed.inc({ group, topic: unprefixed(topic), outcome }),
    deadLettered: (topic) => metrics.deadLetters.inc({ group, topic: unprefixed(topic) }),
  };
}

/** How long a scrape waits for Kafka or Postgres before it reports without those series. */
const SCRAPE_TIMEOUT_MS = 3_000;

function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} took over ${SCRAPE_TIMEOUT_MS} ms`)),
      SCRAPE_TIMEOUT_MS,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export interface EventScrapeOptions {
  metrics: ServiceMetrics;
  connection: KafkaConnection;
  logger: Logger;
  /** The consumer groups of this service and the event types each reads (unprefixed). */
  groups: readonly { groupId: string; eventTypes: readonly string[] }[];
  /** The outbox, when this service has one: rows waiting and the age of the oldest. */
  outboxBacklog?: (() => Promise<{ rows: number; oldestAgeSeconds: number }>) | undefined;
}

/**
 * Registers the scrape-time measurements: each group's lag per partition (committed offset vs. the
 * partition's end, from one admin client kept for the service's life) and the outbox backlog. A failed
 * measurement drops its series until the next scrape succeeds (a stale lag would look like progress).
 * Returns how to stop (unregister, disconnect the admin client).
 */
export function measureEventsOnScrape(options: EventScrapeOptions): () => Promise<void> {
  const { connection, logger } = options;
  const metrics = options.metrics.events();
  const removers: (() => void)[] = [];
  let admin: Promise<Admin> | undefined;
  const connectedAdmin = () => {
    admin ??= (async () => {
      const client = connection.kafka.admin();
      await client.connect();
      return client;
    })().catch((error: unknown) => {
      admin = undefined;
      throw error;
    });
    return admin;
  };

  if (options.groups.length > 0) {
    const measureLag = async () => {
      const client = await connectedAdmin();
      const ends = new Map<string, Awaited<ReturnType<Admin['fetchTopicOffsets']>>>();
      const lags: { group: string; topic: string; partition: string; lag: number }[] = [];
      for (const { groupId, eventTypes } of options.groups) {
        const committed = await client.fetchOffsets({
          groupId: connection.topic(groupId),
          topics: eventTypes.map((type) => connection.topic(type)),
        });
        for (const { topic, partitions } of committed) {
          const topicEnds = ends.get(topic) ?? (await client.fetchTopicOffsets(topic));
          ends.set(topic, topicEnds);
          const type = topic.slice(connection.topicPrefix.length);
          for (const end of topicEnds) {
            const offset = Number(partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
            const lag = Number(end.high) - Math.max(offset, Number(end.low));
            lags.push({ group: groupId, topic: type, partition: String(end.partition), lag });
          }
        }
      }
      metrics.consumerLag.reset();
      for (const { lag, ...labels } of lags) metrics.consumerLag.set(labels, lag);
    };
    removers.push(
      options.metrics.onScrape(() =>
        withTimeout(measureLag(), 'measuring consumer lag').catch((error: unknown) => {
          metrics.consumerLag.reset();
          logger.warn({ err: error }, 'consumer lag not measured');
        }),
      ),
    );
  }

  const { outboxBacklog } = options;
  if (outboxBacklog) {
    removers.push(
      options.metrics.onScrape(() =>
        withTimeout(outboxBacklog(), 'measuring the outbox backlog').then(
          ({ rows, oldestAgeSeconds }) => {
            metrics.outboxBacklog.set(rows);
            metrics.outboxOldestAge.set(oldestAgeSeconds);
          },
          (error: unknown) => {
            metrics.outboxBacklog.reset();
            metrics.outboxOldestAge.reset();
            logger.warn({ err: error }, 'outbox backlog not measured');
          },
        ),
      ),
    );
  }

  return async () => {
    for (const remove of removers) remove();
    const client = await admin?.catch(() => undefined);
    admin = undefined;
    await client?.disconnect();
  };
}
