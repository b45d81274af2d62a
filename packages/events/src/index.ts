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
  defaultRetryPolicy,
  EventConsumer,
  type EventConsumerOptions,
  type EventHandlers,
  headerText,
  type MessageMeta,
  type RetryPolicy,
  replayHeaders,
} from './consumer';
export {
  type DeadLetter,
  type DeadLetterOptions,
  listDeadLetters,
  type ReplayResult,
  replayDeadLetters,
  replayGroupId,
} from './dlq';
export {
  type AnyEventEnvelope,
  type CreateEventOptions,
  createEvent,
  type EventEnvelope,
  eventKey,
  PoisonMessageError,
  parseEnvelope,
} from './envelope';
export {
  BroadcastFeed,
  type BroadcastFeedOptions,
  type FeedEvent,
  SubscriberOverflowError,
} from './feed';
export { claimEvent, handleOnce } from './idempotency';
export { KafkaConnection, type KafkaSettings } from './kafka';
export { noteDuplicate } from './metrics';
export { eventsMigrationsDir } from './migrations';
export {
  type AnyEventDraft,
  type Enqueue,
  type EventDraft,
  enqueueEvents,
  type OutboxTransactionOptions,
  outboxTransaction,
  repositoryTransaction,
} from './outbox';
export {
  type BackgroundPart,
  type EventParts,
  type EventPartsOptions,
  eventParts,
  type FeedPart,
} from './parts';
export { advisoryLockKey, type PgAdvisoryLock, pgAdvisoryLock } from './pg-lock';
export {
  EventInProgressError,
  type HandleOnceInRedisOptions,
  handleOnceInRedis,
  processedEventKey,
} from './redis-idempotency';
export {
  type OutboxDatabase,
  OutboxRelay,
  type OutboxRelayOptions,
  type OutboxRelaySettings,
} from './relay';
export type { RawSqlExecutor, TransactionRunner } from './sql';
export { ensureTopics } from './topics';
