import type { Logger, ServiceMetrics } from '@shop/kit';
import { EventConsumer, type EventConsumerOptions } from './consumer';
import type { BroadcastFeed } from './feed';

/** What eventParts needs of a feed (any event types). */
export type FeedPart = Pick<BroadcastFeed, 'name' | 'start' | 'stop' | 'readiness'>;

import type { KafkaConnection } from './kafka';
import { consumerObserver, measureEventsOnScrape } from './metrics';
import { type OutboxDatabase, OutboxRelay, type OutboxRelaySettings } from './relay';

/** Started after the server listens; each start resolves to how to stop it (the launcher's shape). */
export interface BackgroundPart {
  name: string;
  start: () => Promise<() => Promise<unknown>>;
}

export interface EventPartsOptions {
  connection: KafkaConnection;
  logger: Logger;
  /** The subgraph's Postgres (URL or pool) when it writes events: its outbox relay. */
  outbox?: OutboxDatabase & OutboxRelaySettings;
  /** Consumer groups: `{ groupId, handlers, retry?, fromBeginning? }`. */
  consumers?: readonly EventConsumerOptions[];
  /** Feeds the subgraph's Subscription resolvers read (made beforehand, so resolvers can hold them). */
  feeds?: readonly FeedPart[];
  /** The service's metrics: events published, consumed and dead-lettered; lag and backlog on scrape. */
  metrics?: ServiceMetrics | undefined;
}

export interface EventParts {
  /** Its `wake()` goes in `outboxTransaction`'s `onCommitted`. */
  relay: OutboxRelay | undefined;
  consumers: EventConsumer[];
  background: BackgroundPart[];
  readiness: Record<string, () => Promise<unknown>>;
}

/**
 * Everything event-related a subgraph process runs, as background parts and readiness checks for the
 * launcher to spread into its own. Start order: feeds, consumers, then the relay; the launcher stops them in
 * reverse, and the Kafka connection (producer) last of all. Readiness: `consumer:<groupId>`, `feed:<name>`,
 * `outbox-relay`; they fail when a part stopped for good, not while Kafka is briefly away.
 */
export function eventParts(options: EventPartsOptions): EventParts {
  const { connection, logger } = options;
  const metrics = options.metrics;
  const consumers = (options.consumers ?? []).map(
    (definition) =>
      new EventConsumer(
        connection,
        definition,
        metrics && consumerObserver(metrics.events(), connection, definition.groupId),
      ),
  );
  const relay = options.outbox
    ? new OutboxRelay({ ...options.outbox, connection, logger, metrics: metrics?.events() })
    : undefined;
  const background: BackgroundPart[] = [
    // First to start, so last to stop: relay and consumers (dead letters) still use the producer until then.
    {
      name: 'kafka',
      start: async () => () => connection.disconnect(),
    },
  ];
  if (metrics) {
    background.push({
      name: 'event metrics',
      start: async () =>
        measureEventsOnScrape({
          metrics,
          connection,
          logger,
          groups: (options.consumers ?? []).map(({ groupId, handlers }) => ({
            groupId,
            eventTypes: Object.keys(handlers),
          })),
          outboxBacklog: relay && (() => relay.backlog()),
        }),
    });
  }
  const readiness: Record<string, () => Promise<unknown>> = {};
  for (const feed of options.feeds ?? []) {
    background.push({
      name: `feed:${feed.name}`,
      start: async () => {
        await feed.start();
        return () => feed.stop();
      },
    });
    readiness[`feed:${feed.name}`] = feed.readiness;
  }
  for (const consumer of consumers) {
    background.push({
      name: `consumer:${consumer.groupId}`,
      start: async () => {
        await consumer.start();
        return () => consumer.stop();
      },
    });
    readiness[`consumer:${consumer.groupId}`] = consumer.readiness;
  }
  if (relay) {
    background.push({
      name: 'outbox-relay',
      start: async () => {
        relay.start();
        return () => relay.stop();
      },
    });
    readiness['outbox-relay'] = relay.readiness;
  }
  return { relay, consumers, background, readiness };
}
