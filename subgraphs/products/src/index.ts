import { loadConfigOrExit, runSubgraph } from '@shop/kit';
import { productsEnvSchema } from './config';
import { createProductsPrisma } from './prisma';
import { buildProductsSubgraph, schemaUrl } from './subgraph';

const config = loadConfigOrExit(productsEnvSchema);
const prisma = createProductsPrisma(config.DATABASE_URL);

await runSubgraph({
  name: 'products',
  config,
  schemaUrl,
  build: ({ logger }) =>
    buildProductsSubgraph({ prisma, logger, settings: { defaultCurrency: config.DEFAULT_CURRENCY } }),
});
