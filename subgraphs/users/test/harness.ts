import { createPrismaAdapter } from '@shop/db';
import {
  createTestDatabase,
  createTestKeys,
  type GraphQLResponse,
  postGraphQL,
  startTestSubgraph,
  type TestDatabase,
  type TestKeys,
  testLogger,
} from '@shop/testing';
import { afterAll, beforeAll } from 'vitest';
import { PrismaClient } from '../src/generated/prisma/client';
import { buildUsersSubgraph, migrationsDir, schemaUrl } from '../src/subgraph';

/** A Prisma client on a fresh migrated database that records the SQL it sends (for query-count assertions). */
export async function createRecordingPrisma(): Promise<{
  db: TestDatabase;
  prisma: PrismaClient<'query'>;
  sql: string[];
}> {
  const db = await createTestDatabase(migrationsDir);
  const prisma = new PrismaClient({
    adapter: createPrismaAdapter(db.url),
    log: [{ emit: 'event', level: 'query' }],
  });
  const sql: string[] = [];
  prisma.$on('query', (event) => sql.push(event.query));
  return { db, prisma, sql };
}

export interface UsersUnderTest {
  url: string;
  databaseUrl: string;
  prisma: PrismaClient<'query'>;
  /** Every SQL statement the subgraph's Prisma client sent, in order; clear it before the part you measure. */
  sql: string[];
  keys: TestKeys;
  /** One GraphQL request to the subgraph, with `token` as the bearer token. */
  graphql: <D = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ) => Promise<GraphQLResponse<D>>;
  stop: () => Promise<void>;
}

/** The real users subgraph (its own database, key pair and HTTP server), as index.ts builds it. */
export async function startUsers(): Promise<UsersUnderTest> {
  const { db, prisma, sql } = await createRecordingPrisma();
  const keys = await createTestKeys();
  const parts = await buildUsersSubgraph({
    prisma,
    tokenIssuer: keys.issuer,
    settings: { refreshTokenTtlDays: 30 },
    logger: testLogger('users'),
  });
  const server = await startTestSubgraph({ name: 'users', schemaUrl, parts, verifier: keys.verifier });
  return {
    url: server.url,
    databaseUrl: db.url,
    prisma,
    sql,
    keys,
    graphql: (query, variables = {}, token) => postGraphQL(server.url, query, variables, token),
    stop: async () => {
      await server.stop();
      await prisma.$disconnect();
      await db.drop();
    },
  };
}

/**
 * The users subgraph for a whole test file: started before its tests, stopped after. Its properties are
 * read inside tests (the subgraph starts in beforeAll).
 */
export function useUsers(): UsersUnderTest {
  let started: UsersUnderTest | undefined;
  beforeAll(async () => {
    started = await startUsers();
  });
  afterAll(async () => {
    await started?.stop();
  });
  return new Proxy({} as UsersUnderTest, {
    get: (_, property) => {
      if (!started) throw new Error('useUsers: the subgraph starts in beforeAll; use it inside tests');
      return Reflect.get(started, property);
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

export interface Session {
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
  user: { id: string; email: string; name: string; role: 'CUSTOMER' | 'ADMIN' };
}

let counter = 0;
/** An email no other test of this process uses. */
export function uniqueEmail(label = 'user'): string {
  counter += 1;
  return `${label}-${process.pid}-${Date.now()}-${counter}@example.com`;
}

/** Registers a customer through the API and returns the session (fails the test on any error). */
export async function register(
  users: UsersUnderTest,
  input: { email?: string; password?: string; name?: string } = {},
): Promise<Session & { password: string }> {
  const password = input.password ?? 'correct horse battery';
  const response = await users.graphql<{ register: Session }>(REGISTER, {
    input: { email: input.email ?? uniqueEmail(), password, name: input.name ?? 'Test User' },
  });
  if (!response.data?.register) throw new Error(`register failed: ${JSON.stringify(response.errors)}`);
  return { ...response.data.register, password };
}

/** The error codes of a response, in order. */
export const codes = (response: GraphQLResponse<unknown>) =>
  (response.errors ?? []).map((error) => error.extensions?.code);
