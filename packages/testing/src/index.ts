export { aliasedProductPages, aliasedTotalCounts, productFields } from './abuse';
export { badRequestBodies, expectNoLeak, leakPatterns, rawPost } from './client-mistakes';
export {
  createEmptyTestDatabase,
  createTestDatabase,
  dropLeftoverTestDatabases,
  type TestDatabase,
  useMigratedDatabase,
  withPostgresAdmin,
} from './database';
export { sampleOrderPlaced } from './events';
export {
  type CreatedProduct,
  createProduct,
  type RegisteredUser,
  registerUser,
  uniqueEmail,
  uniqueSku,
} from './factories';
export { createTestKafka, type TestKafka, type TopicReader } from './kafka';
export { testLogger } from './logger';
export { freePort } from './ports';
export {
  type OwnRedis,
  type SubgraphProcess,
  type SubgraphProcesses,
  type SubgraphProcessesOptions,
  startOwnRedis,
  startSubgraphProcesses,
} from './processes';
export { createTestRedis, type TestRedis } from './redis';
export { type ReplayedGroup, replaySubgraphConsumers, type SubgraphReplay } from './replay';
export { recordingAdapter } from './sql';
export {
  consumerGroupLag,
  consumerGroupsOf,
  type DatabaseSnapshot,
  queryDatabase,
  snapshotDatabase,
  snapshotRedis,
  unpublishedOutboxRows,
} from './state';
export {
  codes,
  createTestKeys,
  type GraphQLResponse,
  graphqlData,
  postGraphQL,
  startTestReplica,
  startTestSubgraph,
  type TestKeys,
  type TestSubgraph,
  type TestSubgraphOptions,
  testTokenSettings,
  useSubgraph,
} from './subgraph';
export { startTestSubgraphs, type TestSubgraphs } from './subgraphs';
export { waitFor } from './wait';
export { createWsTestClient, type Subscribed, subscribeOverWs } from './websocket';
