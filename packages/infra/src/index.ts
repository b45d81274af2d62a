export {
  type InfraOptions,
  infraDown,
  infraStatus,
  infraUp,
  type Progress,
  type ServiceStatus,
} from './infra';
export { ensureKafkaJars, KAFKA_VERSION, KafkaBroker, kafkaAnswers } from './kafka-broker';
export { cacheDir, infraDir, projectRoot } from './paths';
export {
  GATEWAY_PORT,
  loadSubgraphs,
  type SubgraphName,
  subgraphDatabases,
  subgraphDir,
  subgraphUrl,
} from './registry';
export { type InfraSettings, readInfraSettings } from './settings';
export { ensureTopics } from './topics';
