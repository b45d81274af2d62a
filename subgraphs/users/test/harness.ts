import { createPrismaAdapter } from '@shop/db';
import {
  codes,
  type RegisteredUser,
  registerUser,
  type TestSubgraph,
  uniqueEmail,
  useSubgraph,
} from '@shop/testing';
import { PrismaClient, subgraph } from '../src/subgraph';

export { codes };

export type UsersUnderTest = TestSubgraph & {
  /** The test's own client of the subgraph's database, to arrange and inspect rows. */
  prisma: PrismaClient;
};

/**
 * Rate limits high enough for tests that sign in and register many times from one address (the rate-limit
 * tests set their own).
 */
export const relaxedLimits = {
  LOGIN_FAILURES_PER_ACCOUNT: '1000',
  LOGIN_FAILURES_PER_ADDRESS: '1000',
  REGISTRATIONS_PER_ADDRESS: '1000',
  REFRESHES_PER_ADDRESS: '1000',
};

/** The real users subgraph for a whole test file (its own database and key pair), as production runs it. */
export function useUsers(env: Record<string, string> = relaxedLimits): UsersUnderTest {
  return useSubgraph(subgraph, {
    env,
    extend: ({ database }) => {
      if (!database) throw new Error('users uses postgres');
      const prisma = new PrismaClient({ adapter: createPrismaAdapter(database.url) });
      return { prisma, stop: () => prisma.$disconnect() };
    },
  });
}

export const SESSION_FIELDS = `accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt
  user { id email name role }`;

export const REGISTER = `mutation Register($input: RegisterInput!) { register(input: $input) { ${SESSION_FIELDS} } }`;
export const LOGIN = `mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) { ${SESSION_FIELDS} } }`;
export const REFRESH = `mutation Refresh($refreshToken: String!) {
  refreshToken(refreshToken: $refreshToken) { ${SESSION_FIELDS} } }`;
export const LOGOUT = `mutation Logout($refreshToken: String!) { logout(refreshToken: $refreshToken) }`;
export const ME = 'query Me { me { id email name role } }';

/** A signed-in session as the API returns it (the testkit's factory shape). */
export type Session = Omit<RegisteredUser, 'password'>;

export { uniqueEmail };

/** Registers a customer through the API and returns the session (fails the test on any error). */
export function register(
  users: UsersUnderTest,
  input: { email?: string; password?: string; name?: string } = {},
): Promise<RegisteredUser> {
  return registerUser(users.url, input);
}
