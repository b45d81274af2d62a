import { randomUUID } from 'node:crypto';
import { createPrismaAdapter } from '@shop/db';
import { createEvent, type EventData, type EventEnvelope, type EventType, eventKey } from '@shop/events';
import {
  type GraphQLResponse,
  type TestSubgraph,
  type TestSubgraphOptions,
  useSubgraph,
} from '@shop/testing';
import type { ReceivedMail } from '../src/local-mail';
import { PrismaClient, subgraph } from '../src/subgraph';

/** Quick retries and polls for tests; free ports for the local sink. */
export const testEnv: Record<string, string> = {
  MAILBOX_SMTP_PORT: '0',
  MAILBOX_HTTP_PORT: '0',
  NOTIFY_DELIVERY_INTERVAL_MS: '200',
  NOTIFY_RETRY_INITIAL_MS: '200',
  NOTIFY_RETRY_MAX_MS: '1000',
  NOTIFY_MAX_ATTEMPTS: '3',
  SMTP_TIMEOUT_MS: '5000',
  CONTACT_WAIT_MS: '1500',
};

export type NotificationsHarness = TestSubgraph & {
  prisma: PrismaClient;
  adminToken: string;
  /** Publishes an event as its producer would (envelope, key, prefixed topic); returns the envelope. */
  publish: <T extends EventType>(type: T, data: EventData<T>) => Promise<EventEnvelope<T>>;
  /** Publishes this exact envelope (again). */
  publishEnvelope: (event: EventEnvelope) => Promise<void>;
  /** Every email the sink holds for `address`, read over its JSON API (`/api/messages`). */
  mailTo: (address: string) => Promise<ReceivedMail[]>;
  /** A signed access token for this customer. */
  tokenFor: (userId: string, email?: string) => Promise<string>;
  post: <D = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ) => Promise<GraphQLResponse<D>>;
};

export function uniqueEmail(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}@example.com`;
}

/**
 * The real notifications subgraph for a test file: own database, Kafka prefix, and (unless SMTP_HOST is given)
 * the local SMTP sink its `localServices` starts, read over its web mailbox's JSON API.
 */
export function useNotifications(options: TestSubgraphOptions = {}): NotificationsHarness {
  // The caller's object itself (it is read when the subgraph starts: a test may fill it in a beforeAll).
  const env = options.env ?? {};
  for (const [key, value] of Object.entries(testEnv)) if (!(key in env)) env[key] = value;
  return useSubgraph(subgraph, {
    ...options,
    env,
    extend: async (running) => {
      if (!running.database || !running.kafka) throw new Error('notifications uses postgres and kafka');
      const prisma = new PrismaClient({ adapter: createPrismaAdapter(running.database.url) });
      const connection = running.kafka.connection;
      const publishEnvelope = async (event: EventEnvelope) => {
        const producer = await connection.producer();
        await producer.send({
          topic: connection.topic(event.type),
          messages: [{ key: eventKey(event as never), value: JSON.stringify(event) }],
        });
      };
      const mailboxUrl = `http://127.0.0.1:${running.env.MAILBOX_HTTP_PORT}`;
      return {
        prisma,
        adminToken: await running.keys.tokenFor('ADMIN'),
        publishEnvelope,
        publish: async <T extends EventType>(type: T, data: EventData<T>) => {
          const event = createEvent(type, data, { source: type.split('.')[0] ?? 'test' });
          await publishEnvelope(event as EventEnvelope);
          return event;
        },
        mailTo: async (address: string) => {
          const response = await fetch(`${mailboxUrl}/api/messages`);
          const messages = (await response.json()) as ReceivedMail[];
          return messages.filter((message) =>
            message.to.some((to) => to.toLowerCase() === address.toLowerCase()),
          );
        },
        tokenFor: (userId: string, email?: string) =>
          running.keys.tokenFor({ userId, role: 'CUSTOMER', email: email ?? uniqueEmail('customer') }),
        post: (query: string, variables: Record<string, unknown> = {}, token?: string) =>
          running.graphql(query, variables, token),
        stop: () => prisma.$disconnect(),
      };
    },
  }) as NotificationsHarness;
}

export const notificationFields = `id type channel recipient subject content html status retryCount errorMessage sentAt createdAt`;
