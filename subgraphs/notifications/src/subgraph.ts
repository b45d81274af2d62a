import { fileURLToPath } from 'node:url';
import { PeriodicJob } from '@shop/kit';
import { defineSubgraph } from '@shop/runtime';
import { notificationsEnv } from './config';
import { createContext } from './context';
import { notificationConsumers, notificationFeed } from './events/consume';
import { PrismaClient } from './generated/prisma/client';
import { localMailServices } from './local-mail';
import { Mailer } from './mailer';
import { NotificationsRepository } from './notifications.repository';
import { NotificationsService } from './notifications.service';
import { resolvers } from './resolvers';
import { TemplateRenderer } from './templates';

// Notifications claimed per delivery round (sent concurrently).
const DELIVERY_BATCH = 20;

/**
 * The notifications subgraph: one email per business event (order, payment, low stock), recorded with its
 * delivery status, sent by a background job over SMTP. Listed in subgraphs/registry.ts.
 */
export const subgraph = defineSubgraph({
  name: 'notifications',
  env: notificationsEnv,
  schemaPath: fileURLToPath(new URL('./schema.graphql', import.meta.url)),
  migrationsDir: fileURLToPath(new URL('../prisma/migrations', import.meta.url)),
  build: async ({ config, logger, postgres, kafka, metrics }) => {
    const prisma = new PrismaClient({ adapter: postgres.adapter });
    const repository = new NotificationsRepository(prisma, kafka.outbox);
    const renderer = new TemplateRenderer((name) => repository.findActiveTemplate(name), logger);
    const mailer = new Mailer(
      {
        host: config.SMTP_HOST,
        port: config.SMTP_PORT,
        secure: config.SMTP_SECURE,
        user: config.SMTP_USER,
        pass: config.SMTP_PASS,
        from: config.MAIL_FROM,
        timeoutMs: config.SMTP_TIMEOUT_MS,
        maxConnections: config.SMTP_MAX_CONNECTIONS,
      },
      metrics.notifications(),
    );
    const notifications = new NotificationsService(
      repository,
      renderer,
      mailer,
      {
        adminEmails: config.ADMIN_EMAILS,
        maxAttempts: config.NOTIFY_MAX_ATTEMPTS,
        retryInitialMs: config.NOTIFY_RETRY_INITIAL_MS,
        retryMaxMs: config.NOTIFY_RETRY_MAX_MS,
        // An attempt waits at most three timeouts (connect, greeting, data); then the row may be claimed again.
        claimLeaseMs: config.SMTP_TIMEOUT_MS * 4,
        contactWaitMs: config.CONTACT_WAIT_MS,
      },
      logger,
    );
    // No lock: instances share the work row by row (FOR UPDATE SKIP LOCKED in the claim).
    const delivery = new PeriodicJob({
      name: 'notification-delivery',
      intervalMs: config.NOTIFY_DELIVERY_INTERVAL_MS,
      jitterMs: Math.round(config.NOTIFY_DELIVERY_INTERVAL_MS / 5),
      batchSize: DELIVERY_BATCH,
      run: async () => {
        await notifications.expireParked(DELIVERY_BATCH);
        return notifications.deliverDue(DELIVERY_BATCH);
      },
      logger,
    });
    notifications.onRecorded = () => delivery.trigger();
    const feed = notificationFeed(kafka.connection);
    return {
      resolvers,
      createContext: createContext(notifications, feed),
      consumers: notificationConsumers(notifications),
      feeds: [feed],
      background: [
        { name: 'notification-delivery', start: () => delivery.start(), stop: () => delivery.stop() },
      ],
      resources: [
        { name: 'mailer', close: async () => mailer.close() },
        { name: 'prisma', close: () => prisma.$disconnect() },
      ],
    };
  },
  localServices: ({ env }) => localMailServices(env),
});

export { PrismaClient } from './generated/prisma/client';
export { LocalMail, type ReceivedMail, startLocalMail } from './local-mail';
export type { NotificationRecord } from './notifications.repository';
