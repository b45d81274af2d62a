import { randomUUID } from 'node:crypto';
import { domainTopics, KafkaConnection } from '@shop/events';
import { readInfraSettings } from '@shop/infra';
import type { Logger } from '@shop/kit';
import type { Consumer, KafkaMessage } from 'kafkajs';
import { testLogger } from './logger';

export interface TestKafka {
  /** A connection whose topics and consumer groups carry a prefix no other test uses. */
  connection: KafkaConnection;
  prefix: string;
  brokers: string[];
  /** Reads every message of a (prefixed) topic from the start, for assertions on what was published. */
  readTopic: (topic: string) => Promise<TopicReader>;
  cleanup: () => Promise<void>;
}

export interface TopicReader {
  messages: KafkaMessage[];
  stop: () => Promise<void>;
}

/**
 * Isolated Kafka for one test file: every catalogue topic under a fresh prefix, on the real broker
 * (or `brokers`, for a test that runs its own). Topics are deleted at cleanup.
 */
export async function createTestKafka(
  options: { brokers?: string[]; logger?: Logger } = {},
): Promise<TestKafka> {
  const prefix = `t${randomUUID().slice(0, 8)}.`;
  const brokers = options.brokers ?? readInfraSettings().kafkaBrokers;
  const connection = new KafkaConnection({
    brokers,
    clientId: `test-${prefix}`,
    topicPrefix: prefix,
    logger: options.logger ?? testLogger('kafka'),
  });
  await connection.ensureTopics(domainTopics.map((topic) => connection.topic(topic)));
  const readers: TopicReader[] = [];

  return {
    connection,
    prefix,
    brokers,
    readTopic: async (topic) => {
      const consumer: Consumer = connection.kafka.consumer({
        groupId: `${prefix}reader-${randomUUID()}`,
        sessionTimeout: 6_000,
        heartbeatInterval: 500,
        maxWaitTimeInMs: 250,
      });
      const messages: KafkaMessage[] = [];
      const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          messages.push(message);
        },
      });
      await joined;
      const reader = { messages, stop: () => consumer.disconnect() };
      readers.push(reader);
      return reader;
    },
    cleanup: async () => {
      await Promise.all(readers.map((reader) => reader.stop()));
      await connection.disconnect();
      const admin = connection.kafka.admin({ retry: { retries: 1 } });
      await admin.connect();
      try {
        const ours = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
        if (ours.length > 0) await admin.deleteTopics({ topics: ours });
      } finally {
        await admin.disconnect();
      }
    },
  };
}
