import type { Logger, RequestContext, SubgraphParts, TokenIssuer, TokenVerifier } from '@shop/kit';
import type { Context } from './context';
import type { PrismaClient } from './generated/prisma/client';
import { PasswordHasher } from './passwords';
import { resolvers } from './resolvers/index';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

/** The users SDL (for runSubgraph, startTestSubgraph and composition). */
export const schemaUrl = new URL('./schema.graphql', import.meta.url).href;

export interface UsersSettings {
  /** How long a refresh token stays valid if unused (each rotation starts a new period). */
  refreshTokenTtlDays: number;
}

export interface UsersSubgraphDeps {
  prisma: PrismaClient;
  /** Signs access tokens; its TTL is the access-token lifetime. */
  tokenIssuer: TokenIssuer;
  settings: UsersSettings;
  logger: Logger;
}

/** Everything the users subgraph is made of, from its dependencies; shared by index.ts and the tests. */
export async function buildUsersSubgraph(deps: UsersSubgraphDeps): Promise<SubgraphParts<Context>> {
  const repository = new UsersRepository(deps.prisma);
  const users = new UsersService({
    repository,
    passwords: await PasswordHasher.create(),
    tokenIssuer: deps.tokenIssuer,
    refreshTokenTtlDays: deps.settings.refreshTokenTtlDays,
    logger: deps.logger,
  });
  return {
    resolvers,
    createContext: (base: RequestContext): Context => ({
      ...base,
      loaders: { userById: users.createUserLoader() },
      users,
    }),
    readiness: { postgres: () => repository.ping() },
    resources: [{ name: 'prisma', close: () => deps.prisma.$disconnect() }],
  };
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

// What the gateway's start-up and e2e tests need besides the parts: config, client, demo data.
export { type UsersConfig, usersEnvSchema } from './config';
export type { Context } from './context';
export { createUsersPrisma, migrationsDir, PrismaClient } from './prisma';
export { type DemoUser, type DemoUsers, demoUsersFromConfig, seedUsers } from './seed';
export type { UserRecord } from './users.repository';
export type { AuthSession } from './users.service';
