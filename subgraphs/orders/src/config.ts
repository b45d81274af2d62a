import { type ConfigOf, productCatalogEnv, subgraphEnv } from '@shop/runtime';
import { z } from 'zod';

/** Every setting of the orders subgraph; `.env.example` lists each key (a test checks it against this schema). */
export const ordersEnv = subgraphEnv({
  port: 3003,
  uses: ['postgres', 'kafka'],
  own: {
    // Prices come from the products subgraph, never from the client or the cart.
    ...productCatalogEnv,
    CART_URL: z.url().default('http://localhost:3004/graphql'),
    MAX_ORDER_LINES: z.coerce.number().int().min(1).max(500).default(50),
    MAX_LINE_QUANTITY: z.coerce.number().int().min(1).max(100_000).default(100),
    // How long placing an order waits for the catalogue or the cart before giving up.
    UPSTREAM_TIMEOUT_MS: z.coerce.number().int().positive().default(3_000),
  },
});

export type OrdersConfig = ConfigOf<typeof ordersEnv>;
