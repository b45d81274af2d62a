import { randomUUID } from 'node:crypto';
import type { Logger } from '@shop/kit';
import type { Consumer, IHeaders, KafkaMessage } from 'kafkajs';
import { deadLetterTopic } from './catalogue';
import { deadLetterHeaders, headerText, replayHeaders } from './consumer';
import type { KafkaConnection } from './kafka';
import { retryRetriable } from './topics';

/** The consumer group whose committed offsets record how far `replayDeadLetters` got for `groupId`. */
export function replayGroupId(groupId: string): string {
  return `dlq-replay.${groupId}`;
}

export interface DeadLetter {
  partition: number;
  offset: string;
  /** The (prefixed) topic it failed on; undefined for a message that did not come from a consumer. */
  originalTopic: string | undefined;
  eventId: string | undefined;
  eventType: string | undefined;
  error: string | undefined;
  attempts: number | undefined;
  failedAt: string | undefined;
  /** Already republished by a replay. */
  replayed: boolean;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

export interface DeadLetterOptions {
  /** Give up reading after this long (default 60 s). */
  timeoutMs?: number;
}

export interface ReplayResult {
  /** Republished to their original topics. */
  replayed: number;
  /** Dead letters without an original topic (passed over, not replayed again). */
  skipped: number;
}

/** Every message of `dlq.<groupId>`, oldest first per partition, each marked replayed or not. */
export async function listDeadLetters(
  connection: KafkaConnection,
  groupId: string,
  options: DeadLetterOptions = {},
): Promise<DeadLetter[]> {
  const topic = connection.topic(deadLetterTopic(groupId));
  const found = await positions(connection, topic, connection.topic(replayGroupId(groupId)));
  if (!found) return [];
  const { ends, committed } = found;
  const letters: DeadLetter[] = [];
  // A group of its own that commits nothing, deleted afterwards: listing changes no state.
  const readerGroup = connection.topic(`dlq-list.${groupId}.${randomUUID()}`);
  try {
    await readUntil(connection, {
      groupId: readerGroup,
      topic,
      ends,
      starts: new Map(),
      timeoutMs: options.timeoutMs,
      onMessage: async (partition, message) => {
        letters.push(describe(partition, message, committed.get(partition) ?? -1n));
      },
    });
  } finally {
    await deleteGroup(connection, readerGroup);
  }
  return letters.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

/**
 * Republishes every dead letter of `groupId` not replayed before to its original topic (same key and value,
 * the original headers, plus `x-replayed-from` and `x-replayed-for: <groupId>` so other groups and feeds
 * skip it), committing each one's offset in the `dlq-replay.<groupId>` group once it is sent: a second
 * replay sends only what reached the dead-letter topic since. Messages dead-lettered while it runs wait for
 * the next replay. Run one replay per group at a time.
 */
export async function replayDeadLetters(
  connection: KafkaConnection,
  groupId: string,
  options: DeadLetterOptions & { logger?: Logger } = {},
): Promise<ReplayResult> {
  const logger = (options.logger ?? connection.logger).child({ deadLetters: groupId });
  const topic = connection.topic(deadLetterTopic(groupId));
  const replayGroup = connection.topic(replayGroupId(groupId));
  const result: ReplayResult = { replayed: 0, skipped: 0 };
  const found = await positions(connection, topic, replayGroup);
  if (!found) return result;
  const { ends, committed } = found;
  const producer = await connection.producer();
  await readUntil(connection, {
    groupId: replayGroup,
    topic,
    ends,
    starts: committed,
    timeoutMs: options.timeoutMs,
    onMessage: async (partition, message, consumer) => {
      const originalTopic = headerText(message.headers, deadLetterHeaders.originalTopic);
      if (originalTopic === undefined) {
        logger.warn({ partition, offset: message.offset }, 'dead letter without an original topic, skipped');
        result.skipped++;
      } else {
        await producer.send({
          topic: originalTopic,
          acks: -1,
          messages: [
            {
              key: message.key,
              value: message.value,
              headers: {
                ...withoutReplayHeaders(message.headers),
                [replayHeaders.replayedFrom]: `${topic}/${partition}/${message.offset}`,
                [replayHeaders.replayedFor]: groupId,
              },
            },
          ],
        });
        result.replayed++;
      }
      await consumer.commitOffsets([{ topic, partition, offset: String(BigInt(message.offset) + 1n) }]);
    },
  });
  logger.info(result, 'dead letters replayed');
  return result;
}

function withoutReplayHeaders(headers: IHeaders | undefined): IHeaders {
  const dropped = new Set<string>([...Object.values(deadLetterHeaders), ...Object.values(replayHeaders)]);
  return Object.fromEntries(Object.entries(headers ?? {}).filter(([name]) => !dropped.has(name)));
}

function describe(partition: number, message: KafkaMessage, replayedBelow: bigint): DeadLetter {
  const headers = message.headers ?? {};
  let envelope: { id?: unknown; type?: unknown } = {};
  try {
    envelope = JSON.parse(message.value?.toString() ?? '') ?? {};
  } catch {
    // A poison message need not be JSON; its headers still say why it is here.
  }
  const attempts = headerText(headers, deadLetterHeaders.attempts);
  return {
    partition,
    offset: message.offset,
    originalTopic: headerText(headers, deadLetterHeaders.originalTopic),
    eventId: typeof envelope.id === 'string' ? envelope.id : headerText(headers, 'event-id'),
    eventType: typeof envelope.type === 'string' ? envelope.type : headerText(headers, 'event-type'),
    error: headerText(headers, deadLetterHeaders.error),
    attempts: attempts === undefined ? undefined : Number(attempts),
    failedAt: headerText(headers, deadLetterHeaders.failedAt),
    replayed: BigInt(message.offset) < replayedBelow,
    key: message.key,
    value: message.value,
    headers,
  };
}

/**
 * Per partition: the end offset now, and the replay group's committed offset (-1 when none). Undefined when
 * the dead-letter topic does not exist (the group never dead-lettered anything, or the name is mistyped).
 */
async function positions(
  connection: KafkaConnection,
  topic: string,
  replayGroup: string,
): Promise<{ ends: Map<number, bigint>; committed: Map<number, bigint> } | undefined> {
  return retryRetriable(async () => {
    const admin = connection.kafka.admin();
    await admin.connect();
    try {
      if (!(await admin.listTopics()).includes(topic)) return undefined;
      const topicOffsets = await admin.fetchTopicOffsets(topic);
      const [groupOffsets] = await admin.fetchOffsets({ groupId: replayGroup, topics: [topic] });
      return {
        ends: new Map(topicOffsets.map((p) => [p.partition, BigInt(p.high)])),
        committed: new Map((groupOffsets?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)])),
      };
    } finally {
      await admin.disconnect();
    }
  });
}

/**
 * Reads `topic` in group `groupId` from the group's position (or the oldest message) up to `ends`, the end
 * offsets taken beforehand, then leaves. Partitions already at their end are not waited for.
 */
async function readUntil(
  connection: KafkaConnection,
  options: {
    groupId: string;
    topic: string;
    ends: Map<number, bigint>;
    /** Where the group stands (committed offsets); partitions at or past their end need no reading. */
    starts: Map<number, bigint>;
    timeoutMs: number | undefined;
    onMessage: (partition: number, message: KafkaMessage, consumer: Consumer) => Promise<void>;
  },
): Promise<void> {
  const { topic, ends, starts } = options;
  const remaining = new Map([...ends].filter(([partition, end]) => (starts.get(partition) ?? -1n) < end));
  // Committed offsets below the oldest retained message do not count: the reader starts at the oldest.
  const lows = await retryRetriable(async () => {
    const admin = connection.kafka.admin();
    await admin.connect();
    try {
      return await admin.fetchTopicOffsets(topic);
    } finally {
      await admin.disconnect();
    }
  });
  for (const { partition, low } of lows) {
    if (BigInt(low) >= (ends.get(partition) ?? 0n)) remaining.delete(partition);
  }
  if (remaining.size === 0) return;

  const consumer = connection.kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    maxWaitTimeInMs: 250,
    allowAutoTopicCreation: false,
  });
  const timeoutMs = options.timeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `reading ${topic} timed out after ${timeoutMs} ms (partitions left: ${[...remaining.keys()]})`,
            ),
          ),
        timeoutMs,
      );
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) reject(payload.error);
      });
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const end = remaining.get(partition);
            // Past the snapshot (arrived while reading): left for the next run.
            if (end === undefined || BigInt(message.offset) >= end) {
              consumer.pause([{ topic, partitions: [partition] }]);
              return;
            }
            await options.onMessage(partition, message, consumer);
            if (BigInt(message.offset) + 1n >= end) {
              remaining.delete(partition);
              consumer.pause([{ topic, partitions: [partition] }]);
              if (remaining.size === 0) resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}

async function deleteGroup(connection: KafkaConnection, groupId: string): Promise<void> {
  const admin = connection.kafka.admin();
  try {
    await admin.connect();
    await admin.deleteGroups([groupId]);
  } catch {
    // An empty group that committed nothing is forgotten by the broker anyway.
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
