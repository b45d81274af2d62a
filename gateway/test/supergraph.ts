import { ShopClient } from '@shop/client';
import type { RunningSubgraph } from '@shop/kit';
import {
  buildProductsSubgraph,
  createProductsPrisma,
  migrationsDir as productsMigrations,
  schemaUrl as productsSchema,
  seedProducts,
} from '@shop/products';
import {
  createTestDatabase,
  createTestKeys,
  startTestSubgraph,
  type TestKeys,
  testLogger,
} from '@shop/testing';
import {
  buildUsersSubgraph,
  createUsersPrisma,
  seedUsers,
  migrationsDir as usersMigrations,
  schemaUrl as usersSchema,
} from '@shop/users';
import { composeSupergraph } from '../src/compose';
import { type RunningGateway, startGateway } from '../src/gateway';

export const demo = {
  customer: { email: 'test@example.com', password: 'password123', name: 'Test Customer' },
  admin: { email: 'admin@example.com', password: 'admin123', name: 'Shop Admin' },
};

export interface TestSupergraph {
  gateway: RunningGateway;
  subgraphs: Record<'users' | 'products', RunningSubgraph>;
  /** An anonymous typed client of the gateway; `.as(token)` acts as someone. */
  client: ShopClient;
  keys: TestKeys;
  stop: () => Promise<void>;
}

/**
 * The real supergraph in-process: every subgraph built from its own parts over its own fresh database,
 * composed from the subgraphs' SDL with their test URLs, behind the real gateway. Seeded with the demo data.
 */
export async function startTestSupergraph(): Promise<TestSupergraph> {
  const logger = testLogger('supergraph');
  const keys = await createTestKeys();
  const [usersDb, productsDb] = await Promise.all([
    createTestDatabase(usersMigrations),
    createTestDatabase(productsMigrations),
  ]);
  const usersPrisma = createUsersPrisma(usersDb.url);
  const productsPrisma = createProductsPrisma(productsDb.url);
  await Promise.all([seedUsers(usersPrisma, demo), seedProducts(productsPrisma)]);

  const users = await startTestSubgraph({
    name: 'users',
    schemaUrl: usersSchema,
    verifier: keys.verifier,
    parts: await buildUsersSubgraph({
      prisma: usersPrisma,
      tokenIssuer: keys.issuer,
      settings: { refreshTokenTtlDays: 30 },
      logger,
    }),
  });
  const products = await startTestSubgraph({
    name: 'products',
    schemaUrl: productsSchema,
    verifier: keys.verifier,
    parts: await buildProductsSubgraph({
      prisma: productsPrisma,
      settings: { defaultCurrency: 'USD' },
      logger,
    }),
  });
  const { supergraphSdl } = composeSupergraph({ users: users.url, products: products.url });
  const gateway = await startGateway({
    supergraphSdl,
    port: 0,
    host: '127.0.0.1',
    tokenVerifier: keys.verifier,
    logger,
  });

  return {
    gateway,
    subgraphs: { users, products },
    client: new ShopClient(gateway.url),
    keys,
    stop: async () => {
      await gateway.stop();
      await Promise.all([users.stop(), products.stop()]);
      await Promise.all([usersPrisma.$disconnect(), productsPrisma.$disconnect()]);
      await Promise.all([usersDb.drop(), productsDb.drop()]);
    },
  };
}
