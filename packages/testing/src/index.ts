export {
  createEmptyTestDatabase,
  createTestDatabase,
  dropLeftoverTestDatabases,
  type TestDatabase,
} from './database';
export { createTestKafka, type TestKafka, type TopicReader } from './kafka';
export { testLogger } from './logger';
export { waitFor } from './wait';
