export {
  deadLetterTopic,
  defineEvent,
  domainTopics,
  type EventData,
  type EventDefinition,
  type EventType,
  eventCatalogue,
  eventKeyOf,
  isEventType,
} from './catalogue';
export {
  backoffDelay,
  deadLetterHeaders,
  EventConsumer,
  type EventConsumerOptions,
  type EventHandlers,
  type MessageMeta,
  type RetryPolicy,
} from './consumer';
export {
  type AnyEventEnvelope,
  type CreateEventOptions,
  createEvent,
  type EventEnvelope,
  eventKey,
  PoisonMessageError,
  parseEnvelope,
} from './envelope';
export { claimEvent, handleOnce } from './idempotency';
export { KafkaConnection, type KafkaSettings } from './kafka';
export { enqueueEvents, OutboxRelay, type OutboxRelayOptions } from './outbox';
export type { RawSqlExecutor } from './sql';
export { ensureTopics } from './topics';
