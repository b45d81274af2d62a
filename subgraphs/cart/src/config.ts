import { type ConfigOf, productCatalogEnv, subgraphEnv } from '@shop/runtime';
import { z } from 'zod';

/** How `mergeGuestCart` combines a guest cart with the signed-in user's cart. */
export const mergeStrategies = ['MERGE', 'KEEP_USER', 'KEEP_GUEST'] as const;
export type MergeStrategy = (typeof mergeStrategies)[number];

const positiveInt = z.coerce.number().int().positive();

/** Every setting of the cart subgraph; `.env.example` lists each key (a test checks it against this schema). */
export const cartEnv = subgraphEnv({
  port: 3004,
  uses: ['redis', 'kafka'],
  own: {
    ...productCatalogEnv,
    // A signed-in user's cart lives 7 days after its last change (the specification's TTL).
    CART_USER_TTL_SECONDS: positiveInt.default(7 * 86_400),
    // Guest carts are anonymous and cheap to recreate: they live 2 days after their last change.
    CART_GUEST_TTL_SECONDS: positiveInt.default(2 * 86_400),
    CART_MAX_QUANTITY: positiveInt.max(10_000).default(99),
    CART_MAX_LINES: positiveInt.max(1_000).default(50),
    CART_PRICE_CACHE_TTL_MS: z.coerce.number().int().min(0).default(5_000),
    CART_PRODUCTS_TIMEOUT_MS: positiveInt.default(2_000),
    CART_MERGE_STRATEGY: z.enum(mergeStrategies).default('MERGE'),
    CART_CURRENCY: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD')
      .default('USD'),
  },
});

export type CartConfig = ConfigOf<typeof cartEnv>;
