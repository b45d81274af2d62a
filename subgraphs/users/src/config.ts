import { baseEnvSchema, envSchemas } from '@shop/kit';
import { z } from 'zod';

const seedPassword = z.string().min(8, 'must be at least 8 characters');

/** Every setting of the users subgraph; `.env.example` lists each key (CI checks it against this schema). */
export const usersEnvSchema = baseEnvSchema.extend({
  PORT: envSchemas.port.default(3001),
  DATABASE_URL: z.url(),
  // Only users signs tokens: it holds the private half of JWT_PUBLIC_KEY.
  JWT_PRIVATE_KEY: envSchemas.pem('PRIVATE KEY'),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().positive().default(900),
  REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().positive().default(30),
  SEED_CUSTOMER_EMAIL: z.email().default('test@example.com'),
  SEED_CUSTOMER_PASSWORD: seedPassword.default('password123'),
  SEED_CUSTOMER_NAME: z.string().min(1).default('Test Customer'),
  SEED_ADMIN_EMAIL: z.email().default('admin@example.com'),
  SEED_ADMIN_PASSWORD: seedPassword.default('admin123'),
  SEED_ADMIN_NAME: z.string().min(1).default('Shop Admin'),
});

export type UsersConfig = z.infer<typeof usersEnvSchema>;

/** What `pnpm seed` needs: the database and the demo accounts, not the signing keys. */
export const seedEnvSchema = usersEnvSchema.pick({
  DATABASE_URL: true,
  SEED_CUSTOMER_EMAIL: true,
  SEED_CUSTOMER_PASSWORD: true,
  SEED_CUSTOMER_NAME: true,
  SEED_ADMIN_EMAIL: true,
  SEED_ADMIN_PASSWORD: true,
  SEED_ADMIN_NAME: true,
});

export type SeedConfig = z.infer<typeof seedEnvSchema>;
