import { randomUUID } from 'node:crypto';
import type { EventConsumerOptions, EventHandlers } from '@shop/events';
import { processedEventKey } from '@shop/events';
import { type AnySubgraph, launchSubgraph } from '@shop/runtime';
import { testLogger } from './logger';
import { consumerGroupLag, queryDatabase } from './state';
import type { TestSubgraph } from './subgraph';

/** What one subgraph's consumer group read again. */
export interface ReplayedGroup {
  subgraph: string;
  /** The group as the subgraph names it (its dedup records are kept under this name). */
  group: string;
  /** The fresh group that read the topics again, prefix included. */
  replayGroup: string;
  topics: string[];
  /** Event ids handed to the subgraph's handlers, in arrival order (one per message). */
  eventIds: string[];
  byType: Record<string, number>;
  /** Events already recorded as processed by the group when they were handed over again (skipped). */
  duplicates: number;
}

export interface SubgraphReplay {
  groups: ReplayedGroup[];
  /** Messages of the replayed topics its fresh groups have not committed yet. */
  lag: () => Promise<number>;
  stop: () => Promise<void>;
}

/**
 * Runs a subgraph's consumers once more, under fresh consumer groups reading every topic from offset 0,
 * against the same database, Redis prefix and topics as `original` (another instance of it, like a
 * scaled-out deployment, but without feeds or periodic jobs: only the consumers, and the relay that would
 * publish whatever they wrote). Handlers are the subgraph's own, so their idempotency records are the
 * original group's: a replay that changes nothing shows idempotent consumers.
 */
export async function replaySubgraphConsumers(
  original: TestSubgraph,
  options: { label?: string } = {},
): Promise<SubgraphReplay> {
  const connection = original.kafka?.connection;
  if (!connection) throw new Error(`${original.name} does not use kafka`);
  const label = options.label ?? `replay-${randomUUID().slice(0, 8)}`;
  const groups: ReplayedGroup[] = [];
  /** Whether the subgraph's group recorded the event as processed (handleOnce, handleOnceInRedis). */
  const recorded = async (group: string, eventId: string): Promise<boolean> => {
    if (original.database) {
      const rows = await queryDatabase(
        original.database.url,
        'SELECT 1 FROM processed_events WHERE consumer_group = $1 AND event_id = $2::uuid',
        [group, eventId],
      );
      return rows.length > 0;
    }
    return (await original.redis?.redis.get(processedEventKey(group, eventId))) === 'done';
  };
  const counted = (handlers: EventHandlers, into: ReplayedGroup): EventHandlers =>
    Object.fromEntries(
      Object.entries(handlers).map(([type, handler]) => [
        type,
        async (event: Parameters<NonNullable<EventHandlers[keyof EventHandlers]>>[0], meta: never) => {
          into.eventIds.push(event.id);
          into.byType[type] = (into.byType[type] ?? 0) + 1;
          if (await recorded(into.group, event.id)) into.duplicates += 1;
          await (handler as (e: typeof event, m: never) => Promise<void>)(event, meta);
        },
      ]),
    ) as EventHandlers;
  const definition: AnySubgraph = {
    ...original.definition,
    build: async (deps) => {
      const parts = await original.definition.build(deps);
      const consumers = (parts.consumers ?? []).map((consumer: EventConsumerOptions) => {
        const groupId = `${label}.${consumer.groupId}`;
        const replayed: ReplayedGroup = {
          subgraph: original.name,
          group: consumer.groupId,
          replayGroup: connection.topic(groupId),
          topics: Object.keys(consumer.handlers).map((type) => connection.topic(type)),
          eventIds: [],
          byType: {},
          duplicates: 0,
        };
        groups.push(replayed);
        return { ...consumer, groupId, fromBeginning: true, handlers: counted(consumer.handlers, replayed) };
      });
      return { ...parts, consumers, feeds: [], background: [] };
    },
  };
  const running = await launchSubgraph(definition, {
    env: original.env,
    port: 0,
    host: '127.0.0.1',
    logger: testLogger(`${original.name}-${label}`),
  });
  return {
    groups,
    lag: async () => {
      let lag = 0;
      for (const group of groups) lag += await consumerGroupLag(connection, group.replayGroup, group.topics);
      return lag;
    },
    stop: () => running.stop(),
  };
}
