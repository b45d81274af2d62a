export {
  createEmptyTestDatabase,
  createTestDatabase,
  dropLeftoverTestDatabases,
  type TestDatabase,
} from './database';
export { createTestKafka, type TestKafka, type TopicReader } from './kafka';
export { testLogger } from './logger';
export { freePort } from './ports';
export { waitFor } from './wait';
