import type { ProductResolvers } from '../generated/resolvers';

export const Product: ProductResolvers = {
  // The gateway sends the products of a whole response at once: `inventory` and `inStock` of all of them
  // come from one loader batch, one SQL query.
  __resolveReference: ({ id }) => ({ id }),
  inventory: async ({ id }, _args, { loaders }) => (await loaders.itemByProductId.load(id))?.item ?? null,
  inStock: async ({ id }, _args, { loaders }) =>
    ((await loaders.itemByProductId.load(id))?.item.availableQuantity ?? 0) > 0,
};
