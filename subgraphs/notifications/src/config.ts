import { type ConfigOf, subgraphEnv } from '@shop/runtime';
import { z } from 'zod';

const positiveInt = z.coerce.number().int().positive();
// 0 asks the system for a free port (tests).
const localPort = z.coerce.number().int().min(0).max(65535);

/** Every setting of the notifications subgraph; `.env.example` lists each key (a test checks it against this schema). */
export const notificationsEnv = subgraphEnv({
  port: 3007,
  uses: ['postgres', 'kafka', 'smtp'],
  own: {
    /** Recipients of low-stock alerts, comma-separated. */
    ADMIN_EMAILS: z
      .string()
      .default('admin@example.com')
      .transform((text) =>
        text
          .split(',')
          .map((email) => email.trim())
          .filter((email) => email !== ''),
      )
      .pipe(z.array(z.email('ADMIN_EMAILS must be email addresses')).min(1, 'name at least one admin')),
    /** Delivery attempts in all before a notification is FAILED (an admin may retry it then). */
    NOTIFY_MAX_ATTEMPTS: positiveInt.default(5),
    /** Pause after the first failed attempt; doubled per failure, at most NOTIFY_RETRY_MAX_MS. */
    NOTIFY_RETRY_INITIAL_MS: positiveInt.default(2_000),
    NOTIFY_RETRY_MAX_MS: positiveInt.default(300_000),
    /** How often the delivery job looks for due notifications (it also runs at once after a new one). */
    NOTIFY_DELIVERY_INTERVAL_MS: positiveInt.default(5_000),
    /** Longest wait for the SMTP server at each step (connect, greeting, each command). */
    SMTP_TIMEOUT_MS: positiveInt.default(10_000),
    /** SMTP connections kept open and used in parallel (the delivery job's sends queue for them). */
    SMTP_MAX_CONNECTIONS: positiveInt.default(5),
    /**
     * How long an order or payment event that came before its order.placed (the customer's contact) waits
     * for it; then it is recorded as a FAILED notification without a recipient.
     */
    CONTACT_WAIT_MS: positiveInt.default(3_600_000),
    /** Ports of the local SMTP sink and its web mailbox, used only when SMTP_HOST is empty. */
    MAILBOX_SMTP_PORT: localPort.default(1025),
    MAILBOX_HTTP_PORT: localPort.default(8025),
  },
});

export type NotificationsConfig = ConfigOf<typeof notificationsEnv>;
