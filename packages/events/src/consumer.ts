import type { Logger } from '@shop/kit';
import type { Consumer, IHeaders, KafkaMessage } from 'kafkajs';
import { deadLetterTopic, type EventType } from './catalogue';
import { type EventEnvelope, PoisonMessageError, parseEnvelope } from './envelope';
import type { KafkaConnection } from './kafka';

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
  retry?: Partial<RetryPolicy>;
  /** A new group starts at the oldest message (true, the default) so nothing published before it is missed. */
  fromBeginning?: boolean;
  sessionTimeoutMs?: number;
}

const defaultRetry: RetryPolicy = { attempts: 5, initialDelayMs: 200, maxDelayMs: 5_000 };

/** Exponential backoff with full jitter, so many consumers retrying a shared dependency do not stampede. */
export function backoffDelay(attempt: number, policy: RetryPolicy): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

export const deadLetterHeaders = {
  originalTopic: 'x-original-topic',
  originalPartition: 'x-original-partition',
  originalOffset: 'x-original-offset',
  consumerGroup: 'x-consumer-group',
  error: 'x-error',
  attempts: 'x-attempts',
  failedAt: 'x-failed-at',
} as const;

/**
 * Reads the topics its handlers name, in order per partition. A handler that throws is retried with backoff;
 * after the last attempt, or at once for a message no retry can fix (not JSON, not an envelope, wrong
 * payload), the message goes to the group's dead-letter topic and the consumer moves on. The offset is
 * committed only after the handler succeeded or the dead-letter copy was written, so nothing is lost;
 * handlers must be idempotent (see `handleOnce`) because a crash can redeliver.
 */
export class EventConsumer {
  private consumer: Consumer | undefined;
  /** Set when kafkajs gave up on the consumer: the process must not report ready any more. */
  private failure: Error | undefined;
  private readonly retry: RetryPolicy;
  private readonly logger: Logger;

  constructor(
    private readonly connection: KafkaConnection,
    private readonly options: EventConsumerOptions,
  ) {
    this.retry = { ...defaultRetry, ...options.retry };
    this.logger = connection.logger.child({ consumerGroup: options.groupId });
  }

  get deadLetterTopic(): string {
    return this.connection.topic(deadLetterTopic(this.options.groupId));
  }

  /** Resolves once the consumer has joined its group and been given partitions. */
  async start(): Promise<void> {
    const topics = Object.keys(this.options.handlers).map((type) => this.connection.topic(type));
    await this.connection.ensureTopics([this.deadLetterTopic]);
    const consumer = this.connection.kafka.consumer({
      groupId: this.connection.topic(this.options.groupId),
      sessionTimeout: this.options.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 500,
      allowAutoTopicCreation: false,
      // Keep trying to reconnect after the broker goes away (a restart can outlast kafkajs' retries, which
      // would otherwise stop the consumer for good while the process still looks healthy).
      retry: {
        retries: 10,
        initialRetryTime: 300,
        maxRetryTime: 5_000,
        restartOnFailure: async (error) => {
          this.logger.warn({ err: error }, 'consumer failed; restarting it');
          return true;
        },
      },
    });
    this.consumer = consumer;
    const joined = new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.GROUP_JOIN, () => resolve());
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        this.logger.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
        if (!payload.restart) {
          // kafkajs will not restart it: fail start() if still waiting, and readiness from now on.
          this.failure = payload.error;
          reject(payload.error);
        }
      });
    });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: this.options.fromBeginning ?? true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message, heartbeat }) => {
        await this.handle({ topic, partition, offset: message.offset }, message, heartbeat);
      },
    });
    await joined;
    this.logger.info({ topics }, 'consumer joined its group');
  }

  private async handle(
    meta: MessageMeta,
    message: KafkaMessage,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
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
    for (let attempt = 1; ; attempt++) {
      try {
        await handler(event, meta);
        return;
      } catch (error) {
        if (error instanceof PoisonMessageError || attempt >= this.retry.attempts) {
          await this.deadLetter(meta, message, error, attempt);
          return;
        }
        const delay = backoffDelay(attempt, this.retry);
        this.logger.warn(
          { err: error, eventId: event.id, type: event.type, attempt, delay },
          'handler failed, retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
        await heartbeat();
      }
    }
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
  }

  /** A readiness check: throws once kafkajs has given up on this consumer (it then consumes nothing). */
  readiness = async (): Promise<void> => {
    if (this.failure) throw new Error(`consumer ${this.options.groupId} stopped: ${this.failure.message}`);
  };

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.consumer = undefined;
  }
}
