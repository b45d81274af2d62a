import { envSchemas, gatewaySecretSetting } from '@shop/kit';
import { type ConfigOf, subgraphEnv } from '@shop/runtime';
import { z } from 'zod';

const seedPassword = z.string().min(8, 'must be at least 8 characters');
const limit = z.coerce.number().int().positive();

/** Every setting of the users subgraph; `.env.example` lists each key (a test checks it against this schema). */
export const usersEnv = subgraphEnv({
  port: 3001,
  uses: ['postgres', 'redis'],
  own: {
    // The gateway signs the client address it forwards; rate limits per address need it (README, Security).
    GATEWAY_SECRET: gatewaySecretSetting,
    // Rate limits, counted in Redis across instances over one window (RATE_LIMITED with retryAfterSeconds).
    RATE_LIMIT_WINDOW_SECONDS: limit.default(900),
    LOGIN_FAILURES_PER_ACCOUNT: limit.default(5),
    LOGIN_FAILURES_PER_ADDRESS: limit.default(30),
    REGISTRATIONS_PER_ADDRESS: limit.default(10),
    REFRESHES_PER_ADDRESS: limit.default(120),
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
  },
});

export type UsersConfig = ConfigOf<typeof usersEnv>;
