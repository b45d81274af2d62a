import { fileURLToPath } from 'node:url';
import { defineSubgraph, ProductCatalog } from '@shop/runtime';
import { inventoryEnv } from './config';
import { createContext } from './context';
import { inventoryConsumers } from './events/consume';
import { inventoryFeeds } from './events/feeds';
import { PrismaClient } from './generated/prisma/client';
import { InventoryRepository } from './inventory.repository';
import { InventoryService } from './inventory.service';
import { reservationExpiryJob } from './reservation-expiry.job';
import { resolvers } from './resolvers';
import { seedInventory } from './seed';

/** The inventory subgraph: stock, reservations for orders, the audit trail, low-stock alerts. */
export const subgraph = defineSubgraph({
  name: 'inventory',
  env: inventoryEnv,
  schemaPath: fileURLToPath(new URL('./schema.graphql', import.meta.url)),
  migrationsDir: fileURLToPath(new URL('../prisma/migrations', import.meta.url)),
  build: async ({ config, logger, postgres, kafka, metrics }) => {
    const prisma = new PrismaClient({ adapter: postgres.adapter });
    const repository = new InventoryRepository(prisma, kafka.outbox);
    const inventory = new InventoryService(
      repository,
      new ProductCatalog({ url: config.PRODUCTS_URL, timeoutMs: config.PRODUCTS_TIMEOUT_MS }),
      { reservationTtlMs: config.RESERVATION_TTL_SECONDS * 1000 },
      logger,
    );
    const feeds = inventoryFeeds(kafka.connection);
    return {
      resolvers,
      createContext: createContext(inventory, repository, feeds),
      consumers: inventoryConsumers(inventory),
      feeds: [feeds.lowStock, feeds.stockChanged],
      background: [
        reservationExpiryJob(
          inventory,
          {
            intervalMs: config.RESERVATION_EXPIRY_INTERVAL_MS,
            batchSize: config.RESERVATION_EXPIRY_BATCH_SIZE,
          },
          logger,
          metrics.inventory(),
        ),
      ],
      resources: [{ name: 'prisma', close: () => prisma.$disconnect() }],
    };
  },
  seed: async ({ config, postgres, logger }) => {
    const prisma = new PrismaClient({ adapter: postgres.adapter });
    try {
      return await seedInventory(prisma, { productsUrl: config.PRODUCTS_URL, logger });
    } finally {
      await prisma.$disconnect();
    }
  },
});

export { PrismaClient } from './generated/prisma/client';
export type { InventoryRecord } from './inventory.repository';
