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
export { type InfraSettings, readInfraSettings, subgraphDatabases } from './settings';
export { GATEWAY_PORT, type SubgraphName, subgraphs, subgraphUrl } from './supergraph';
export { ensureTopics } from './topics';
