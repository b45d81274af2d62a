import { baseEnvSchema, envSchemas } from '@shop/kit';
import { z } from 'zod';

/** Env of the products subgraph: the kit's keys plus its own. `.env.example` lists every key. */
export const productsEnvSchema = baseEnvSchema.extend({
  PORT: envSchemas.port.default(3002),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgresql:// URL' }),
  DEFAULT_CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD')
    .default('USD'),
});

export type ProductsConfig = z.infer<typeof productsEnvSchema>;
