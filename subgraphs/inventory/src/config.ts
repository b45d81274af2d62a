import { type ConfigOf, productCatalogEnv, subgraphEnv } from '@shop/runtime';
import { z } from 'zod';

/** Every setting of the inventory subgraph; `.env.example` lists each key (a test checks it against this schema). */
export const inventoryEnv = subgraphEnv({
  port: 3006,
  uses: ['postgres', 'kafka'],
  own: {
    /** How long stock stays held for an order that awaits payment (the specification's 15 minutes). */
    RESERVATION_TTL_SECONDS: z.coerce.number().int().positive().default(900),
    /** Pause between runs of the reservation expiry job. */
    RESERVATION_EXPIRY_INTERVAL_MS: z.coerce.number().int().positive().default(60_000),
    /** Orders the expiry job releases per transaction; a full batch runs again at once. */
    RESERVATION_EXPIRY_BATCH_SIZE: z.coerce.number().int().positive().max(1000).default(100),
    /** The products subgraph: createInventory checks the product exists; the demo seed reads the demo products. */
    ...productCatalogEnv,
    /** How long createInventory waits for the products subgraph before refusing with SERVICE_UNAVAILABLE. */
    PRODUCTS_TIMEOUT_MS: z.coerce.number().int().positive().default(2_000),
  },
});

export type InventoryConfig = ConfigOf<typeof inventoryEnv>;
