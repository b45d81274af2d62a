import type { Logger, SubgraphParts } from '@shop/kit';
import { type Context, createProductLoaders } from './context';
import type { PrismaClient } from './generated/prisma/client';
import { ProductsRepository } from './products.repository';
import { ProductsService, type ProductsSettings } from './products.service';
import { resolvers } from './resolvers';

export type { Context } from './context';
export { createProductsPrisma, migrationsDir, PrismaClient } from './prisma';
export type { ProductRecord } from './products.repository';
export type { ProductsSettings } from './products.service';
export { type DemoProduct, demoProducts, seedProducts } from './seed';

/** The subgraph's SDL, for `loadSchema` (the server, tests, composition). */
export const schemaUrl = new URL('./schema.graphql', import.meta.url).href;

export interface ProductsSubgraphDeps {
  prisma: PrismaClient;
  settings: ProductsSettings;
  logger: Logger;
}

/** Everything the products server runs, built from its dependencies: what `index.ts` and the tests share. */
export async function buildProductsSubgraph(deps: ProductsSubgraphDeps): Promise<SubgraphParts<Context>> {
  const repository = new ProductsRepository(deps.prisma);
  const products = new ProductsService(repository, deps.settings, deps.logger);
  return {
    resolvers,
    createContext: (base) => ({ ...base, products, loaders: createProductLoaders(products) }),
    readiness: { database: () => repository.ping() },
    resources: [{ name: 'prisma', close: () => deps.prisma.$disconnect() }],
  };
}
