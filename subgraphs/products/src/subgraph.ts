import { fileURLToPath } from 'node:url';
import { defineSubgraph } from '@shop/runtime';
import { productsEnv } from './config';
import { createContext } from './context';
import { PrismaClient } from './generated/prisma/client';
import { ProductsRepository } from './products.repository';
import { ProductsService } from './products.service';
import { resolvers } from './resolvers';
import { seedProducts } from './seed';

/** The products subgraph: the catalogue and its prices. Listed in subgraphs/registry.ts. */
export const subgraph = defineSubgraph({
  name: 'products',
  env: productsEnv,
  schemaPath: fileURLToPath(new URL('./schema.graphql', import.meta.url)),
  migrationsDir: fileURLToPath(new URL('../prisma/migrations', import.meta.url)),
  build: async ({ config, logger, postgres, kafka }) => {
    const prisma = new PrismaClient({ adapter: postgres.adapter });
    const repository = new ProductsRepository(prisma, kafka.outbox);
    const products = new ProductsService(repository, { defaultCurrency: config.DEFAULT_CURRENCY }, logger);
    return {
      resolvers,
      createContext: createContext(products, repository),
      resources: [{ name: 'prisma', close: () => prisma.$disconnect() }],
    };
  },
  seed: async ({ postgres }) => {
    const prisma = new PrismaClient({ adapter: postgres.adapter });
    try {
      const products = await seedProducts(prisma);
      return `${products.length} products: ${products.map((product) => product.sku).join(', ')}`;
    } finally {
      await prisma.$disconnect();
    }
  },
});

export { PrismaClient } from './generated/prisma/client';
export type { ProductRecord } from './products.repository';
export { type DemoProduct, demoProducts, seedProducts } from './seed';
