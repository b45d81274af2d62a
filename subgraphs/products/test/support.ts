import { createPrismaAdapter } from '@shop/db';
import { FORWARDED_CLIENT_HEADER, signForwardedClient } from '@shop/kit';
import { codes, type GraphQLResponse, type TestSubgraph, useSubgraph } from '@shop/testing';
import { PrismaClient, subgraph } from '../src/subgraph';

export { codes as errorCodes };

/** `gateway`: an anonymous client's request as the gateway forwards it (with its signed client header). */
type Caller = 'admin' | 'customer' | 'anonymous' | 'gateway';

/** The gateway's signing key in these tests (GATEWAY_SECRET). */
export const TEST_GATEWAY_SECRET = 'products-tests-gateway-secret-0123456789';

export type ProductsHarness = TestSubgraph & {
  /** The test's own client of the subgraph's database, to arrange and inspect rows. */
  prisma: PrismaClient;
  adminToken: string;
  customerToken: string;
  /** One GraphQL operation over HTTP, as the given kind of caller. */
  post: <D = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    as?: Caller,
  ) => Promise<GraphQLResponse<D>>;
};

/**
 * The real products subgraph for a whole test file, on a free port over its own migrated database, launched
 * as production launches it; `sql` records every statement its Prisma client sends.
 */
export function useProducts(): ProductsHarness {
  return useSubgraph(subgraph, {
    env: { GATEWAY_SECRET: TEST_GATEWAY_SECRET },
    extend: async (products) => {
      if (!products.database) throw new Error('products uses postgres');
      const prisma = new PrismaClient({ adapter: createPrismaAdapter(products.database.url) });
      const [adminToken, customerToken] = await Promise.all([
        products.keys.tokenFor('ADMIN'),
        products.keys.tokenFor('CUSTOMER'),
      ]);
      const tokens: Record<Caller, string | undefined> = {
        admin: adminToken,
        customer: customerToken,
        anonymous: undefined,
        gateway: undefined,
      };
      return {
        prisma,
        adminToken,
        customerToken,
        post: <D = Record<string, unknown>>(
          query: string,
          variables: Record<string, unknown> = {},
          as: Caller = 'anonymous',
        ) =>
          as === 'gateway'
            ? postAsGateway<D>(products.url, query, variables)
            : products.graphql<D>(query, variables, tokens[as]),
        stop: () => prisma.$disconnect(),
      };
    },
  });
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

async function postAsGateway<D>(
  url: string,
  query: string,
  variables: Record<string, unknown>,
): Promise<GraphQLResponse<D>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      [FORWARDED_CLIENT_HEADER]: signForwardedClient(TEST_GATEWAY_SECRET, '203.0.113.10'),
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...((await response.json()) as Omit<GraphQLResponse<D>, 'status'>) };
}
