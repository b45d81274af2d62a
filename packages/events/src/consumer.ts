import {
  contextFromCarrier,
  failSpan,
  inSpan,
  type Logger,
  SpanKind,
  spanAttributes,
  withLogFields,
} from '@shop/kit';
import type { IHeaders, KafkaMessage } from 'kafkajs';
import { deadLetterTopic, type EventType } from './catalogue';
import { type EventEnvelope, PoisonMessageError, parseEnvelope } from './envelope';
import { GroupConsumer } from './group-consumer';
import type { KafkaConnection } from './kafka';
import { type ConsumerObserver, runObservedHandler } from './metrics';

export interface MessageMeta {
  topic: string;
  partition: number;
  offset: string;
}

export type EventHandlers = {
  [T in EventType]?: (event: EventEnvelope<T>, meta: MessageMeta) => Promise<void>;
};

export interface RetryPolicy {
  /** Tries in all, the first included, before a message is dead-lettered. */
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export interface EventConsumerOptions {
  groupId: string;
  handlers: EventHandlers;
  retry?: Partial<RetryPolicy> | undefined;
  /**
   * Where a group that never committed an offset starts. false (the default): at the messages published
   * from its first start() on. A new group is usually a new feature, and history is not its business: a
   * new notifications group must not email every customer about every order ever placed. Set true for a
   * group that must see everything the topics still hold (a projection rebuilt from scratch).
   */
  fromBeginning?: boolean | undefined;
  sessionTimeoutMs?: number | undefined;
  /**
   * Partitions handled at the same time (default `defaultPartitionConcurrency`). Order holds per partition,
   * so per key; handlers of different keys (or of one order's events on different topics, which Kafka never
   * ordered) overlap, as they already do across two instances of a subgraph. Each handler in flight may hold
   * a database connection: keep it well under the subgraph's pool.
   */
  partitionsConsumedConcurrently?: number | undefined;
}

/**
 * One message at a time per group left every handler's database round trips queued behind the previous
 * handler's (placed → reserved p50 5 s at 15 checkouts/s); a few partitions at once overlap them, and stay
 * well inside Prisma's pool (10 connections) next to the subgraph's own requests.
 */
export const defaultPartitionConcurrency = 4;

/**
 * Few, quick retries (at most ~0.6 s of waiting in all): a partition is blocked while its message is
 * retried, so a handler that keeps failing goes to the dead-letter topic instead of holding up the
 * messages behind it; `pnpm events:dlq replay` brings it back once the cause is fixed.
 */
export const defaultRetryPolicy: RetryPolicy = { attempts: 3, initialDelayMs: 200, maxDelayMs: 1_000 };

/** Exponential backoff with full jitter, so many consumers retrying a shared dependency do not stampede. */
export function backoffDelay(attempt: number, policy: RetryPolicy): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** Headers a dead-lettered copy carries, next to the original message's own. */
export const deadLetterHeaders = {
  originalTopic: 'x-original-topic',
  originalPartition: 'x-original-partition',
  originalOffset: 'x-original-offset',
  consumerGroup: 'x-consumer-group',
  error: 'x-error',
  attempts: 'x-attempts',
  failedAt: 'x-failed-at',
} as const;

/** Headers of a message replayed from a dead-letter topic to its original topic. */
export const replayHeaders = {
  /** `<dead-letter topic>/<partition>/<offset>` of the copy it came from. */
  replayedFrom: 'x-replayed-from',
  /** The group it is replayed for: other groups on the topic (and feeds) skip it. */
  replayedFor: 'x-replayed-for',
} as const;

export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

/**
 * Reads the topics its handlers name, in order per partition. A handler that throws is retried a few times
 * with backoff; after the last attempt, or at once for a message no retry can fix (not JSON, not an
 * envelope, wrong payload, PoisonMessageError), the message goes to the group's dead-letter topic
 * `dlq.<group>` and the consumer moves on. The offset is committed only after the handler succeeded or the
 * dead-letter copy was written, so nothing is lost; handlers must be idempotent (see `handleOnce`) because a
 * crash can redeliver.
 */
export class EventConsumer {
  private readonly group: GroupConsumer;
  private readonly retry: RetryPolicy;
  private readonly logger: Logger;

  constructor(
    private readonly connection: KafkaConnection,
    private readonly options: EventConsumerOptions,
    /** Counts each message's outcome (the service's metrics). */
    private readonly observer?: ConsumerObserver | undefined,
  ) {
    this.retry = { ...defaultRetryPolicy, ...options.retry };
    if (!(this.retry.attempts >= 1))
      throw new Error(`consumer ${options.groupId}: retry.attempts must be ≥ 1`);
    const concurrency = options.partitionsConsumedConcurrently ?? defaultPartitionConcurrency;
    if (!(Number.isInteger(concurrency) && concurrency >= 1))
      throw new Error(`consumer ${options.groupId}: partitionsConsumedConcurrently must be an integer ≥ 1`);
    this.logger = connection.logger.child({ consumerGroup: options.groupId });
    this.group = new GroupConsumer(connection, {
      groupId: connection.topic(options.groupId),
      topics: Object.keys(options.handlers).map((type) => connection.topic(type)),
      fromBeginning: options.fromBeginning ?? false,
      sessionTimeoutMs: options.sessionTimeoutMs,
      partitionsConsumedConcurrently: concurrency,
      logger: this.logger,
      eachMessage: ({ topic, partition, message, heartbeat }) =>
        this.handle({ topic, partition, offset: message.offset }, message, heartbeat),
    });
  }

  get groupId(): string {
    return this.options.groupId;
  }

  get deadLetterTopic(): string {
    return this.connection.topic(deadLetterTopic(this.options.groupId));
  }

  /** Resolves once the consumer has joined its group and been given partitions. */
  async start(): Promise<void> {
    await this.connection.ensureTopics([this.deadLetterTopic]);
    await this.group.start();
  }

  private async handle(
    meta: MessageMeta,
    message: KafkaMessage,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const replayedFor = headerText(message.headers, replayHeaders.replayedFor);
    if (replayedFor !== undefined && replayedFor !== this.options.groupId) return;
    let event: EventEnvelope;
    try {
      event = parseEnvelope(message.value);
      if (this.connection.topic(event.type) !== meta.topic) {
        throw new PoisonMessageError(`a ${event.type} event arrived on topic ${meta.topic}`);
      }
    } catch (error) {
      await this.deadLetter(meta, message, error, 1);
      return;
    }
    const handler = this.options.handlers[event.type] as
      | ((event: EventEnvelope, meta: MessageMeta) => Promise<void>)
      | undefined;
    if (!handler) return;
    // One CONSUMER span per message, a child of the relay's PRODUCER span (the message's traceparent); every
    // log line written while it is handled carries the event's correlationId and id.
    const fields = { correlationId: event.correlationId, eventId: event.id };
    await withLogFields(fields, () =>
      inSpan(
        `process ${event.type}`,
        {
          kind: SpanKind.CONSUMER,
          parent: contextFromCarrier(message.headers),
          attributes: {
            'messaging.system': 'kafka',
            'messaging.operation.type': 'process',
            'messaging.destination.name': event.type,
            'messaging.consumer.group.name': this.options.groupId,
            'messaging.message.id': event.id,
            [spanAttributes.eventType]: event.type,
            [spanAttributes.correlationId]: event.correlationId,
          },
        },
        async (span) => {
          for (let attempt = 1; ; attempt++) {
            try {
              const duplicate = await runObservedHandler(() => handler(event, meta));
              this.observer?.consumed(meta.topic, duplicate ? 'duplicate' : 'handled');
              return;
            } catch (error) {
              if (error instanceof PoisonMessageError || attempt >= this.retry.attempts) {
                failSpan(span, error);
                await this.deadLetter(meta, message, error, attempt);
                return;
              }
              this.observer?.consumed(meta.topic, 'retried');
              const delay = backoffDelay(attempt, this.retry);
              this.logger.warn(
                { err: error, eventId: event.id, type: event.type, attempt, delay },
                'handler failed, retrying',
              );
              await new Promise((resolve) => setTimeout(resolve, delay));
              await heartbeat();
            }
          }
        },
      ),
    );
  }

  private async deadLetter(
    meta: MessageMeta,
    message: KafkaMessage,
    error: unknown,
    attempts: number,
  ): Promise<void> {
    const reason = error instanceof Error ? error.message : String(error);
    this.logger.error({ ...meta, reason, attempts }, 'message dead-lettered');
    const headers: IHeaders = {
      ...message.headers,
      [deadLetterHeaders.originalTopic]: meta.topic,
      [deadLetterHeaders.originalPartition]: String(meta.partition),
      [deadLetterHeaders.originalOffset]: meta.offset,
      [deadLetterHeaders.consumerGroup]: this.options.groupId,
      [deadLetterHeaders.error]: reason.slice(0, 2_000),
      [deadLetterHeaders.attempts]: String(attempts),
      [deadLetterHeaders.failedAt]: new Date().toISOString(),
    };
    // If this send fails the error propagates: kafkajs does not commit the offset and redelivers later.
    const producer = await this.connection.producer();
    await producer.send({
      topic: this.deadLetterTopic,
      acks: -1,
      messages: [{ key: message.key, value: message.value, headers }],
    });
    this.observer?.consumed(meta.topic, 'dead_lettered');
    this.observer?.deadLettered(meta.topic);
  }

  /** A readiness check: throws once kafkajs has given up on this consumer (it then consumes nothing). */
  readiness = (): Promise<void> => this.group.readiness();

  async stop(): Promise<void> {
    await this.group.stop();
  }
}
