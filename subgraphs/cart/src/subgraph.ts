import { fileURLToPath } from 'node:url';
import { defineSubgraph, ProductCatalog } from '@shop/runtime';
import { CartRepository } from './cart.repository';
import { CartService } from './cart.service';
import { cartEnv } from './config';
import { createContext } from './context';
import { cartConsumers } from './events/consume';
import { resolvers } from './resolvers';

/** The cart subgraph: user and guest carts in Redis, priced by the products subgraph. Listed in subgraphs/registry.ts. */
export const subgraph = defineSubgraph({
  name: 'cart',
  env: cartEnv,
  schemaPath: fileURLToPath(new URL('./schema.graphql', import.meta.url)),
  build: async ({ config, logger, redis }) => {
    const catalog = new ProductCatalog({
      url: config.PRODUCTS_URL,
      cacheTtlMs: config.CART_PRICE_CACHE_TTL_MS,
      timeoutMs: config.CART_PRODUCTS_TIMEOUT_MS,
    });
    const carts = new CartService(
      new CartRepository(redis.client),
      catalog,
      {
        userTtlSeconds: config.CART_USER_TTL_SECONDS,
        guestTtlSeconds: config.CART_GUEST_TTL_SECONDS,
        maxQuantity: config.CART_MAX_QUANTITY,
        maxLines: config.CART_MAX_LINES,
        mergeStrategy: config.CART_MERGE_STRATEGY,
        currency: config.CART_CURRENCY,
      },
      logger,
    );
    return {
      resolvers,
      createContext: createContext(carts),
      consumers: cartConsumers(carts, redis.client),
    };
  },
});

export { type CartOwner, cartKey } from './cart.repository';
