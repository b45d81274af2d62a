export {
  type AnySubgraph,
  type AnySubgraphEnv,
  type BackgroundService,
  type BuildDeps,
  defineSubgraph,
  type KafkaDeps,
  type LocalServices,
  type PostgresDeps,
  type PrismaAdapterFactory,
  type RedisDeps,
  type SubgraphDefinition,
  type SubgraphDeps,
  type SubgraphParts,
  type UsesOf,
} from './definition';
export { type ConfigOf, type SubgraphEnv, subgraphEnv, type Uses } from './env';
export {
  type LaunchedSubgraph,
  type LaunchOptions,
  launchSubgraph,
  runSubgraph,
  seedSubgraph,
  subgraphConfig,
} from './launch';
export { subgraphMigrations } from './migrations';
export {
  type CatalogProduct,
  ProductCatalog,
  type ProductCatalogOptions,
  ProductCatalogUnavailable,
  productCatalogEnv,
} from './product-catalog';
export { createRedisClient, redisReadiness } from './redis';
export { type HttpRoute, mountRoutes, type RouteRequest, type RouteResponse } from './routes';
