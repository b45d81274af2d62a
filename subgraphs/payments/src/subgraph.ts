import { fileURLToPath } from 'node:url';
import { BroadcastFeed, pgAdvisoryLock } from '@shop/events';
import { PeriodicJob } from '@shop/kit';
import { defineSubgraph } from '@shop/runtime';
import { paymentsEnv } from './config';
import { createContext } from './context';
import { paymentConsumers } from './events/consume';
import { PrismaClient } from './generated/prisma/client';
import { startLocalStripe } from './local-stripe/services';
import { PaymentsRepository } from './payments.repository';
import { PaymentsService } from './payments.service';
import { resolvers } from './resolvers';
import { stripeProvider } from './stripe';

/** The payments subgraph: Stripe payment intents with manual capture, refunds, signed webhooks. */
export const subgraph = defineSubgraph({
  name: 'payments',
  env: paymentsEnv,
  schemaPath: fileURLToPath(new URL('./schema.graphql', import.meta.url)),
  migrationsDir: fileURLToPath(new URL('../prisma/migrations', import.meta.url)),
  build: async ({ config, logger, postgres, kafka }) => {
    const prisma = new PrismaClient({ adapter: postgres.adapter });
    const repository = new PaymentsRepository(prisma, kafka.outbox);
    const payments = new PaymentsService(
      repository,
      stripeProvider(config),
      {
        idempotencyTtlHours: config.IDEMPOTENCY_KEY_TTL_HOURS,
        webhookToleranceSeconds: config.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
        paymentWaitMs: config.PAYMENT_INTENT_WAIT_MS,
      },
      logger,
    );
    const statusFeed = new BroadcastFeed(kafka.connection, {
      name: 'payments',
      topics: ['payment.status-changed'],
    });
    const purgeKeys = new PeriodicJob({
      name: 'purge-idempotency-keys',
      intervalMs: config.IDEMPOTENCY_PURGE_INTERVAL_MS,
      jitterMs: Math.min(60_000, config.IDEMPOTENCY_PURGE_INTERVAL_MS),
      batchSize: 500,
      lock: pgAdvisoryLock(postgres.pool, 'payments:purge-idempotency-keys'),
      run: () => payments.purgeIdempotencyKeys(500),
      logger,
    });
    return {
      resolvers,
      createContext: createContext(payments, repository, statusFeed),
      consumers: paymentConsumers(payments),
      feeds: [statusFeed],
      background: [
        { name: 'purge-idempotency-keys', start: () => purgeKeys.start(), stop: () => purgeKeys.stop() },
      ],
      // Stripe signs the exact bytes it sent: the body reaches the handler unparsed.
      routes: [
        {
          method: 'post',
          path: '/webhooks/stripe',
          body: 'raw',
          handler: async (request) => ({
            body: {
              received: true,
              ...(await payments.handleWebhook(request.body, request.headers['stripe-signature'])),
            },
          }),
        },
      ],
      resources: [{ name: 'prisma', close: () => prisma.$disconnect() }],
    };
  },
  localServices: startLocalStripe,
});

export { PrismaClient } from './generated/prisma/client';
export type { PaymentRecord } from './payments.repository';
