import type { Logger } from '@shop/kit';
import type { Consumer, EachMessagePayload, IMemberAssignment } from 'kafkajs';
import type { KafkaConnection } from './kafka';
import { retryRetriable } from './topics';

export interface GroupConsumerOptions {
  /** Full names, prefix included. */
  groupId: string;
  topics: string[];
  /** Where partitions without a committed offset start: the oldest message, or the end (see below). */
  fromBeginning: boolean;
  sessionTimeoutMs?: number | undefined;
  /**
   * Partitions handled at the same time (kafkajs `partitionsConsumedConcurrently`, default 1). Messages of one
   * partition are still handled one after another, in order; only different partitions overlap.
   */
  partitionsConsumedConcurrently?: number | undefined;
  logger: Logger;
  eachMessage: (payload: EachMessagePayload) => Promise<void>;
}

/**
 * Offsets of handled messages are committed together once a second, not after every batch as kafkajs'
 * autoCommit does: a batch is often one message, so that was an OffsetCommit request per message per group,
 * 44 % of all our Kafka requests in the checkout bench. At-least-once holds: only handled messages are
 * committed; after a crash or a rebalance up to an interval of handled messages comes again, which the
 * handlers' idempotency (and the feeds' recent ids) absorbs. Kafka's Java consumer commits every 5 s.
 */
export const commitIntervalMs = 1_000;

/** How long stop() waits for the last commit. */
const stopCommitWaitMs = 2_000;

/** "topic/partition" → the next offset to read there (the handled message's + 1). */
type PendingCommits = Map<string, { topic: string; partition: number; offset: string }>;

const positionKey = (topic: string, partition: number | string) => `${topic}/${partition}`;

/** topic → partition → offset */
type StartOffsets = Map<string, Map<number, string>>;

/**
 * A kafkajs consumer in a group, shared by EventConsumer and BroadcastFeed: joins, reports a crash kafkajs
 * gave up on, and, for `fromBeginning: false`, pins where a new group starts.
 *
 * Kafka's own "latest" is resolved at the first fetch and not committed until a message is handled, so a
 * message published just after start() resolved could be skipped, and so could everything published
 * while a group that had not handled a message yet was down. Instead, the end offsets read before joining
 * are sought to and committed for every partition the group never committed: start() resolving means
 * every later message will be read, now and after a restart.
 */
export class GroupConsumer {
  private consumer: Consumer | undefined;
  /** Set when kafkajs gave up on the consumer: the process must not report ready any more. */
  private failure: Error | undefined;
  /** Handled but not yet committed. */
  private pending: PendingCommits = new Map();
  private commitTimer: NodeJS.Timeout | undefined;
  private committing: Promise<void> = Promise.resolve();
  /** "topic/partition" → the highest offset the broker confirmed committing (kafkajs' COMMIT_OFFSETS event). */
  private readonly confirmed = new Map<string, bigint>();

  constructor(
    private readonly connection: KafkaConnection,
    private readonly options: GroupConsumerOptions,
  ) {}

  /** Resolves once the consumer has joined its group (and pinned where new partitions start). */
  async start(): Promise<void> {
    const { groupId, topics, logger } = this.options;
    const startOffsets = this.options.fromBeginning
      ? new Map()
      : await retryRetriable(() => this.endOffsetsOfNewPartitions());
    const consumer = this.connection.kafka.consumer({
      groupId,
      sessionTimeout: this.options.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 500,
      allowAutoTopicCreation: false,
      // Keep trying to reconnect after the broker goes away (a restart can outlast kafkajs' retries, which
      // would otherwise stop the consumer for good while the process still looks healthy).
      retry: {
        retries: 10,
        initialRetryTime: 300,
        maxRetryTime: 5_000,
        restartOnFailure: async (error) => {
          logger.warn({ err: error }, 'consumer failed; restarting it');
          return true;
        },
      },
    });
    this.consumer = consumer;
    // kafkajs' commitOffsets resolves without committing anything while its runner is not running (just
    // before a join completes, during a restart): only this event says a commit reached the broker.
    consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) => {
      for (const { topic, partitions } of payload.topics) {
        for (const { partition, offset } of partitions) {
          const key = positionKey(topic, partition);
          const committed = BigInt(String(offset));
          if (committed > (this.confirmed.get(key) ?? -1n)) this.confirmed.set(key, committed);
        }
      }
    });
    let pinned: Promise<void> = Promise.resolve();
    const joined = new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        // Partitions another member now owns: their handled offsets are its business from here on. Ours
        // not committed yet (after a restart of the consumer, say) are sought to: kafkajs resumes from the
        // committed offset, which could be a start position that never became durable (then "latest" would
        // skip what was published meanwhile) or behind messages already handled.
        this.keepPendingOf(payload.memberAssignment);
        for (const position of this.pending.values()) consumer.seek(position);
        if (startOffsets.size > 0) {
          pinned = this.pinStartOffsets(consumer, startOffsets, payload.memberAssignment);
          startOffsets.clear(); // only at the first join: later joins find the committed offsets
        }
        resolve();
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        logger.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
        if (!payload.restart) {
          // kafkajs will not restart it: fail start() if still waiting, and readiness from now on.
          this.failure = payload.error;
          reject(payload.error);
        }
      });
    });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: this.options.fromBeginning });
    await consumer.run({
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      autoCommit: false,
      eachMessage: async (payload) => {
        await this.options.eachMessage(payload);
        const { topic, partition, message } = payload;
        this.pending.set(positionKey(topic, partition), {
          topic,
          partition,
          offset: (BigInt(message.offset) + 1n).toString(),
        });
      },
    });
    this.commitTimer = setInterval(() => void this.queueCommit(consumer), commitIntervalMs);
    this.commitTimer.unref();
    await joined;
    await pinned;
    logger.info({ topics, groupId }, 'consumer joined its group');
  }

  /** commitPending after the commits already queued, so two commits of one partition never race (an older one landing last). */
  private queueCommit(consumer: Consumer): Promise<void> {
    this.committing = this.committing.then(() => this.commitPending(consumer));
    return this.committing;
  }

  /** Whether the broker confirmed a commit of this partition at `offset` or later. */
  private isDurable(key: string, offset: string): boolean {
    return (this.confirmed.get(key) ?? -1n) >= BigInt(offset);
  }

  /**
   * Commits what was handled since the last commit. What the broker did not confirm (a failed commit, or one
   * kafkajs dropped) is tried again with the next one, unless a later message of the same partition was
   * handled meanwhile (its offset is higher).
   */
  private async commitPending(consumer: Consumer): Promise<void> {
    if (this.pending.size === 0 || this.consumer !== consumer) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await consumer.commitOffsets([...batch.values()]);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'offset commit failed; retried with the next one');
    }
    for (const [key, commit] of batch) {
      if (!this.isDurable(key, commit.offset) && !this.pending.has(key)) this.pending.set(key, commit);
    }
  }

  private keepPendingOf(assignment: IMemberAssignment): void {
    for (const [key, { topic, partition }] of this.pending) {
      if (!assignment[topic]?.includes(partition)) this.pending.delete(key);
    }
  }

  /** End offsets of the partitions this group has never committed an offset for. */
  private async endOffsetsOfNewPartitions(): Promise<StartOffsets> {
    const admin = this.connection.kafka.admin();
    await admin.connect();
    try {
      const starts: StartOffsets = new Map();
      const committed = await admin.fetchOffsets({
        groupId: this.options.groupId,
        topics: this.options.topics,
      });
      for (const { topic, partitions } of committed) {
        const fresh = partitions.filter((p) => Number(p.offset) < 0).map((p) => p.partition);
        if (fresh.length === 0) continue;
        const ends = await admin.fetchTopicOffsets(topic);
        starts.set(
          topic,
          new Map(
            ends.filter((end) => fresh.includes(end.partition)).map((end) => [end.partition, end.high]),
          ),
        );
      }
      return starts;
    } finally {
      await admin.disconnect();
    }
  }

  private async pinStartOffsets(
    consumer: Consumer,
    starts: StartOffsets,
    assignment: IMemberAssignment,
  ): Promise<void> {
    const pins = Object.entries(assignment).flatMap(([topic, partitions]) =>
      partitions.flatMap((partition) => {
        const offset = starts.get(topic)?.get(partition);
        return offset === undefined ? [] : [{ topic, partition, offset }];
      }),
    );
    // Seeking now (synchronously, in the join event) positions the first fetch. The positions are pending
    // commits too: start() waits for the first attempt, and one that failed is retried with the next commit
    // (and sought to again at a later join) until it is durable.
    for (const pin of pins) {
      consumer.seek(pin);
      this.pending.set(positionKey(pin.topic, pin.partition), pin);
    }
    if (pins.length === 0) return;
    // kafkajs accepts commits only once its runner is marked running, right after this join event.
    await new Promise((resolve) => setImmediate(resolve));
    // start() resolves once the positions are durable (a few tries: kafkajs drops a commit made just before
    // its runner runs); past that they stay pending and the periodic commit keeps trying.
    const durable = () =>
      pins.every((pin) => this.isDurable(positionKey(pin.topic, pin.partition), pin.offset));
    for (let attempt = 0; attempt < 20 && !durable(); attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      await this.queueCommit(consumer);
    }
  }

  /** Throws once kafkajs has given up on this consumer (it then consumes nothing). */
  readiness = async (): Promise<void> => {
    if (this.failure) throw new Error(`consumer ${this.options.groupId} stopped: ${this.failure.message}`);
  };

  /** Commits what was handled, then leaves the group after the message in progress. */
  async stop(): Promise<void> {
    const consumer = this.consumer;
    clearInterval(this.commitTimer);
    this.commitTimer = undefined;
    if (consumer) {
      // Bounded: with the broker away a commit retries for tens of seconds, and a shutdown must not wait for
      // it (what is not committed comes again after the restart, as after a crash).
      const committed = this.queueCommit(consumer);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        committed,
        new Promise((resolve) => (timer = setTimeout(resolve, stopCommitWaitMs))),
      ]);
      clearTimeout(timer);
    }
    this.consumer = undefined;
    await consumer?.disconnect();
  }
}
