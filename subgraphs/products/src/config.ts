import { gatewaySecretSetting } from '@shop/kit';
import { type ConfigOf, subgraphEnv } from '@shop/runtime';
import { z } from 'zod';

/** Every setting of the products subgraph; `.env.example` lists each key (a test checks it against this schema). */
export const productsEnv = subgraphEnv({
  port: 3002,
  uses: ['postgres', 'kafka'],
  own: {
    // Requests signed by the gateway may resolve inactive products as references (README, Security).
    GATEWAY_SECRET: gatewaySecretSetting,
    DEFAULT_CURRENCY: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD')
      .default('USD'),
  },
});

export type ProductsConfig = ConfigOf<typeof productsEnv>;
