import { fileURLToPath } from 'node:url';
import { RateLimiter, TokenIssuer, type TokenVerifier } from '@shop/kit';
import { defineSubgraph } from '@shop/runtime';
import { usersEnv } from './config';
import { createContext } from './context';
import { PrismaClient } from './generated/prisma/client';
import { weakPasswordReason } from './password-policy';
import { PasswordHasher } from './passwords';
import { resolvers } from './resolvers';
import { type DemoUsers, demoUsersFromConfig, seedUsers } from './seed';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

/** The users subgraph: accounts, sign-in, rotating refresh tokens, roles. Listed in subgraphs/registry.ts. */
export const subgraph = defineSubgraph({
  name: 'users',
  env: usersEnv,
  schemaPath: fileURLToPath(new URL('./schema.graphql', import.meta.url)),
  migrationsDir: fileURLToPath(new URL('../prisma/migrations', import.meta.url)),
  build: async ({ config, logger, tokenVerifier, postgres, redis }) => {
    const tokenIssuer = await TokenIssuer.fromPem(config.JWT_PRIVATE_KEY, {
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    });
    await assertKeyPairMatches(tokenIssuer, tokenVerifier);
    const prisma = new PrismaClient({ adapter: postgres.adapter });
    const repository = new UsersRepository(prisma);
    const users = new UsersService({
      repository,
      passwords: await PasswordHasher.create(),
      tokenIssuer,
      refreshTokenTtlDays: config.REFRESH_TOKEN_TTL_DAYS,
      logger,
      limiter: new RateLimiter(redis.client),
      limits: {
        windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS,
        loginFailuresPerAccount: config.LOGIN_FAILURES_PER_ACCOUNT,
        loginFailuresPerAddress: config.LOGIN_FAILURES_PER_ADDRESS,
        registrationsPerAddress: config.REGISTRATIONS_PER_ADDRESS,
        refreshesPerAddress: config.REFRESHES_PER_ADDRESS,
      },
    });
    return {
      resolvers,
      createContext: createContext(users, repository),
      resources: [{ name: 'prisma', close: () => prisma.$disconnect() }],
    };
  },
  seed: async ({ config, postgres }) => {
    const demo = demoUsersFromConfig(config);
    // The default demo passwords are for local use; outside it the seed meets the password policy too.
    if (config.NODE_ENV === 'production') assertSeedPasswordsAllowed(demo);
    const prisma = new PrismaClient({ adapter: postgres.adapter });
    try {
      const { customer, admin } = await seedUsers(prisma, demo);
      return `${customer.email} (CUSTOMER), ${admin.email} (ADMIN)`;
    } finally {
      await prisma.$disconnect();
    }
  },
});

/** Throws naming the SEED_* setting whose password the password policy refuses. */
function assertSeedPasswordsAllowed(demo: DemoUsers): void {
  for (const [setting, user] of [
    ['SEED_CUSTOMER_PASSWORD', demo.customer],
    ['SEED_ADMIN_PASSWORD', demo.admin],
  ] as const) {
    const reason = weakPasswordReason(user.password, user.email);
    if (reason) throw new Error(`${setting} ${reason} (NODE_ENV=production)`);
  }
}

/**
 * Fails when the private key we sign with is not the half of the public key every verifier holds: otherwise
 * each token we issue would be refused everywhere, long after start-up.
 */
export async function assertKeyPairMatches(
  tokenIssuer: TokenIssuer,
  tokenVerifier: TokenVerifier,
): Promise<void> {
  const probe = {
    userId: '00000000-0000-4000-8000-000000000000',
    role: 'CUSTOMER',
    email: 'probe@invalid',
  } as const;
  await tokenVerifier.verify(await tokenIssuer.issueAccessToken(probe)).catch(() => {
    throw new Error(
      'JWT_PRIVATE_KEY is not the private half of JWT_PUBLIC_KEY (or JWT_ISSUER/JWT_AUDIENCE differ)',
    );
  });
}

export { PrismaClient } from './generated/prisma/client';
export { type DemoUser, type DemoUsers, demoUsersFromConfig, seedUsers } from './seed';
