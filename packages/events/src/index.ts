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
export { eventsMigrationsDir } from './migrations';
export {
  type AnyEventDraft,
  type Enqueue,
  type EventDraft,
  enqueueEvents,
  type OutboxTransactionOptions,
  outboxTransaction,
} from './outbox';
export { advisoryLockKey, type PgAdvisoryLock, pgAdvisoryLock } from './pg-lock';
export {
  type OutboxDatabase,
  OutboxRelay,
  type OutboxRelayOptions,
  type OutboxRelaySettings,
} from './relay';
export type { RawSqlExecutor, TransactionRunner } from './sql';
export { ensureTopics } from './topics';
