import { fileURLToPath } from 'node:url';
import { defineSubgraph, ProductCatalog } from '@shop/runtime';
import { CartReader } from './cart-client';
import { ordersEnv } from './config';
import { createContext } from './context';
import { orderConsumers } from './events/consume';
import { orderStatusFeed } from './events/feed';
import { PrismaClient } from './generated/prisma/client';
import { OrdersRepository } from './orders.repository';
import { OrdersService } from './orders.service';
import { resolvers } from './resolvers';

/** The orders subgraph: orders, their state machine and the checkout. Listed in subgraphs/registry.ts. */
export const subgraph = defineSubgraph({
  name: 'orders',
  env: ordersEnv,
  schemaPath: fileURLToPath(new URL('./schema.graphql', import.meta.url)),
  migrationsDir: fileURLToPath(new URL('../prisma/migrations', import.meta.url)),
  build: async ({ config, logger, postgres, kafka }) => {
    const prisma = new PrismaClient({ adapter: postgres.adapter });
    const repository = new OrdersRepository(prisma, kafka.outbox);
    // No cache: an order is priced with the catalogue's current prices.
    const catalog = new ProductCatalog({ url: config.PRODUCTS_URL, timeoutMs: config.UPSTREAM_TIMEOUT_MS });
    const cart = new CartReader({ url: config.CART_URL, timeoutMs: config.UPSTREAM_TIMEOUT_MS });
    const orders = new OrdersService(
      repository,
      catalog,
      cart,
      { maxLines: config.MAX_ORDER_LINES, maxQuantity: config.MAX_LINE_QUANTITY },
      logger,
    );
    const statusFeed = orderStatusFeed(kafka.connection);
    return {
      resolvers,
      createContext: createContext(orders, repository, statusFeed),
      consumers: orderConsumers(orders),
      feeds: [statusFeed],
      resources: [{ name: 'prisma', close: () => prisma.$disconnect() }],
    };
  },
});

export { PrismaClient } from './generated/prisma/client';
export type { OrderRecord } from './orders.repository';
