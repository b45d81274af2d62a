import type { Logger } from '@shop/kit';
import { Kafka, type LogEntry, logLevel, Partitioners, type Producer } from 'kafkajs';
import { ensureTopics } from './topics';

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  /** Namespaces every topic (tests use a fresh prefix each; production leaves it empty). */
  topicPrefix?: string;
  logger: Logger;
}

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** kafkajs logs through our pino logger; its chatty INFO lines become debug. */
function logCreator(logger: Logger) {
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, ...extra } = log;
      const pinoLevel = levels[level] ?? 'info';
      logger[pinoLevel === 'info' ? 'debug' : pinoLevel]({ kafka: extra }, message);
    };
}

/** One Kafka client per process, shared by the producer, consumers and admin calls. */
export class KafkaConnection {
  readonly kafka: Kafka;
  readonly topicPrefix: string;
  readonly logger: Logger;
  private producerPromise: Promise<Producer> | undefined;

  constructor(settings: KafkaSettings) {
    this.topicPrefix = settings.topicPrefix ?? '';
    this.logger = settings.logger;
    this.kafka = new Kafka({
      clientId: settings.clientId,
      brokers: settings.brokers,
      connectionTimeout: 3_000,
      logLevel: logLevel.WARN,
      logCreator: logCreator(settings.logger.child({ component: 'kafkajs' })),
    });
  }

  topic(name: string): string {
    return `${this.topicPrefix}${name}`;
  }

  /**
   * The shared producer: acks from all in-sync replicas, one request in flight so retries cannot reorder a
   * partition, few retries so callers (the outbox relay) own the backoff.
   */
  producer(): Promise<Producer> {
    this.producerPromise ??= (async () => {
      const producer = this.kafka.producer({
        allowAutoTopicCreation: false,
        // The Java client's murmur2 partitioner: the same key lands on the same partition as from Java tools.
        createPartitioner: Partitioners.DefaultPartitioner,
        maxInFlightRequests: 1,
        retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2_000 },
      });
      await producer.connect();
      return producer;
    })().catch((error: unknown) => {
      this.producerPromise = undefined;
      throw error;
    });
    return this.producerPromise;
  }

  ensureTopics(topics: string[], partitions = 3): Promise<string[]> {
    return ensureTopics(this.kafka, topics, partitions);
  }

  async disconnect(): Promise<void> {
    const producer = this.producerPromise;
    this.producerPromise = undefined;
    if (producer) await (await producer.catch(() => undefined))?.disconnect();
  }
}
