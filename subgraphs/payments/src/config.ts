import { type ConfigOf, subgraphEnv } from '@shop/runtime';
import { z } from 'zod';

/** Every setting of the payments subgraph; `.env.example` lists each key. */
export const paymentsEnv = subgraphEnv({
  port: 3005,
  uses: ['postgres', 'kafka', 'stripe'],
  own: {
    /** How long createPaymentIntent's idempotency keys are kept; Stripe keeps its own 24 h, so never less. */
    IDEMPOTENCY_KEY_TTL_HOURS: z.coerce.number().int().min(24, 'must be at least 24 (hours)').default(24),
    /** How often expired idempotency keys are deleted. */
    IDEMPOTENCY_PURGE_INTERVAL_MS: z.coerce.number().int().positive().default(3_600_000),
    /** Webhooks older than this (by their signed timestamp) are refused: Stripe's default tolerance. */
    STRIPE_WEBHOOK_TOLERANCE_SECONDS: z.coerce.number().int().positive().default(300),
    /**
     * How long createPaymentIntent waits for an order's payment that payments has not created yet (it is created
     * from `order.placed`, usually moments after checkout) before answering NOT_FOUND; 0 answers at once.
     */
    PAYMENT_INTENT_WAIT_MS: z.coerce.number().int().min(0).max(10_000).default(2_000),
    /** Port of the local Stripe-compatible server started when STRIPE_SECRET_KEY is not set (0: any free one). */
    LOCAL_STRIPE_PORT: z.coerce.number().int().min(0).max(65_535).default(12_111),
  },
});

export type PaymentsConfig = ConfigOf<typeof paymentsEnv>;
