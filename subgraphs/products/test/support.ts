import { createPrismaAdapter } from '@shop/db';
import {
  createTestDatabase,
  createTestKeys,
  postGraphQL,
  recordingAdapter,
  startTestSubgraph,
  testLogger,
} from '@shop/testing';
import { PrismaClient } from '../src/generated/prisma/client';
import { buildProductsSubgraph, migrationsDir, schemaUrl } from '../src/subgraph';

/** SQL statements seen two honest ways: Prisma's own query events and the driver adapter underneath. */
export interface SqlCounter {
  prismaEvents: string[];
  adapterStatements: string[];
  reset: () => void;
}

export type ProductsHarness = Awaited<ReturnType<typeof startProductsSubgraph>>;

/**
 * The real products subgraph on a free port, over its own migrated database: built with
 * `buildProductsSubgraph` exactly as `index.ts` builds it, with a Prisma client whose SQL the tests can count.
 */
export async function startProductsSubgraph() {
  const database = await createTestDatabase(migrationsDir);
  const keys = await createTestKeys();
  const sql: SqlCounter = {
    prismaEvents: [],
    adapterStatements: [],
    reset: () => {
      sql.prismaEvents.length = 0;
      sql.adapterStatements.length = 0;
    },
  };
  const prisma = new PrismaClient({
    adapter: recordingAdapter(createPrismaAdapter(database.url), (statement) =>
      sql.adapterStatements.push(statement),
    ),
    log: [{ emit: 'event', level: 'query' }],
  });
  prisma.$on('query', (event) => sql.prismaEvents.push(event.query));
  const parts = await buildProductsSubgraph({
    prisma,
    settings: { defaultCurrency: 'USD' },
    logger: testLogger('products'),
  });
  const server = await startTestSubgraph({ name: 'products', schemaUrl, parts, verifier: keys.verifier });
  const [adminToken, customerToken] = await Promise.all([keys.tokenFor('ADMIN'), keys.tokenFor('CUSTOMER')]);

  return {
    prisma,
    sql,
    url: server.url,
    adminToken,
    customerToken,
    /** One GraphQL operation over HTTP, as the given kind of caller. */
    post: <D = Record<string, unknown>>(
      query: string,
      variables: Record<string, unknown> = {},
      as: 'admin' | 'customer' | 'anonymous' = 'anonymous',
    ) =>
      postGraphQL<D>(
        server.url,
        query,
        variables,
        as === 'admin' ? adminToken : as === 'customer' ? customerToken : undefined,
      ),
    stop: async () => {
      await server.stop();
      for (const resource of parts.resources ?? []) await resource.close();
      await database.drop();
    },
  };
}

export const PRODUCT_FIELDS = 'id name description sku price { amount currency } active createdAt updatedAt';

export interface ProductJson {
  id: string;
  name: string;
  description: string | null;
  sku: string;
  price: { amount: string; currency: string };
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

/** The codes of a response's errors, in order. */
export function errorCodes(response: {
  errors?: { extensions?: { code?: string } }[];
}): (string | undefined)[] {
  return (response.errors ?? []).map((error) => error.extensions?.code);
}
