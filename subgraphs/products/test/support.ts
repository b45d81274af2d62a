import { createPrismaAdapter } from '@shop/db';
import {
  createTestDatabase,
  createTestKeys,
  postGraphQL,
  startTestSubgraph,
  testLogger,
} from '@shop/testing';
import { PrismaClient } from '../src/generated/prisma/client';
import { buildProductsSubgraph, migrationsDir, schemaUrl } from '../src/subgraph';

type PrismaPgFactory = ReturnType<typeof createPrismaAdapter>;
type PrismaPgAdapter = Awaited<ReturnType<PrismaPgFactory['connect']>>;

/** Calls `onStatement` for every SQL statement Prisma hands to the driver adapter, inside transactions too. */
function countingAdapter(factory: PrismaPgFactory, onStatement: (sql: string) => void): PrismaPgFactory {
  const count = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(object, property) {
        const value: unknown = Reflect.get(object, property, object);
        if (typeof value !== 'function') return value;
        if (property === 'queryRaw' || property === 'executeRaw') {
          return (query: { sql: string }) => {
            onStatement(query.sql);
            return value.call(object, query);
          };
        }
        if (property === 'startTransaction') {
          return async (...args: unknown[]) => count(await value.apply(object, args));
        }
        return value.bind(object);
      },
    });
  return new Proxy(factory, {
    get(object, property) {
      if (property === 'connect') return async (): Promise<PrismaPgAdapter> => count(await object.connect());
      const value: unknown = Reflect.get(object, property, object);
      return typeof value === 'function' ? value.bind(object) : value;
    },
  });
}

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
    adapter: countingAdapter(createPrismaAdapter(database.url), (statement) =>
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
