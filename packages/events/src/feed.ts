import { randomUUID } from 'node:crypto';
import type { Logger } from '@shop/kit';
import type { KafkaMessage } from 'kafkajs';
import type { EventType } from './catalogue';
import { headerText, replayHeaders } from './consumer';
import { type EventEnvelope, parseEnvelope } from './envelope';
import { GroupConsumer } from './group-consumer';
import type { KafkaConnection } from './kafka';

/** An envelope of one of the feed's types, narrowed by `type`. */
export type FeedEvent<T extends EventType> = { [K in T]: EventEnvelope<K> }[T];

export interface BroadcastFeedOptions<T extends EventType> {
  /** Names the feed in its consumer group `feed.<name>.<instanceId>`, logs and readiness. */
  name: string;
  topics: readonly T[];
  /** Distinguishes this process from the other instances (random by default). */
  instanceId?: string;
  /** Events a subscriber may have waiting; one more ends its subscription with an error (default 256). */
  bufferSize?: number;
}

/** A subscriber fell too far behind: its subscription ends rather than silently missing events. */
export class SubscriberOverflowError extends Error {
  constructor(feed: string, bufferSize: number) {
    super(`subscriber of feed ${feed} fell ${bufferSize} events behind; subscribe again`);
    this.name = 'SubscriberOverflowError';
  }
}

/**
 * Live events for GraphQL subscriptions: every instance reads every message of the feed's topics (a consumer
 * group of its own, starting at the end: a subscriber wants what happens from now on), and hands each event
 * to its subscribers whose filter accepts it. Nothing is dead-lettered: a bad message is logged and skipped;
 * replays from a dead-letter topic are skipped too (old news to a live subscriber).
 *
 *   Subscription: { orderStatusChanged: {
 *     subscribe: (_, { orderId }) => feed.subscribe((e) => e.data.orderId === orderId),
 *     resolve: (event) => …,
 *   } }
 */
export class BroadcastFeed<T extends EventType = EventType> {
  readonly name: string;
  readonly instanceId: string;
  private readonly groupId: string;
  private readonly group: GroupConsumer;
  private readonly subscribers = new Set<FeedSubscription<FeedEvent<T>>>();
  private readonly bufferSize: number;
  private readonly logger: Logger;
  private readonly recentIds = new RecentIds(10_000);
  private state: 'new' | 'started' | 'stopped' = 'new';

  constructor(
    private readonly connection: KafkaConnection,
    options: BroadcastFeedOptions<T>,
  ) {
    this.name = options.name;
    this.instanceId = options.instanceId ?? randomUUID();
    this.bufferSize = options.bufferSize ?? 256;
    this.groupId = connection.topic(`feed.${options.name}.${this.instanceId}`);
    this.logger = connection.logger.child({ feed: options.name, instanceId: this.instanceId });
    this.group = new GroupConsumer(connection, {
      groupId: this.groupId,
      topics: options.topics.map((type) => connection.topic(type)),
      fromBeginning: false,
      logger: this.logger,
      eachMessage: async ({ topic, message }) => this.deliver(topic, message),
    });
  }

  /** Subscribers right now (for tests and metrics). */
  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Resolves once joined: every event published from then on reaches the subscribers. */
  async start(): Promise<void> {
    if (this.state === 'stopped') throw new Error(`feed ${this.name} was stopped; make a new one`);
    this.state = 'started';
    await this.group.start();
  }

  /**
   * The events accepted by `filter`, from now until the caller ends the iteration (`return()`, which
   * graphql-ws calls when the client unsubscribes) or the feed stops.
   */
  subscribe(filter: (event: FeedEvent<T>) => boolean = () => true): AsyncIterableIterator<FeedEvent<T>> {
    const subscription = new FeedSubscription<FeedEvent<T>>(filter, this.bufferSize, this.name, (s) =>
      this.subscribers.delete(s),
    );
    if (this.state === 'stopped') subscription.end();
    else this.subscribers.add(subscription);
    return subscription;
  }

  private deliver(topic: string, message: KafkaMessage): void {
    if (headerText(message.headers, replayHeaders.replayedFor) !== undefined) return;
    let event: FeedEvent<T>;
    try {
      event = parseEnvelope(message.value) as FeedEvent<T>;
      if (this.connection.topic(event.type) !== topic) throw new Error(`a ${event.type} event on ${topic}`);
    } catch (error) {
      this.logger.warn({ err: error, topic, offset: message.offset }, 'feed skipped a bad message');
      return;
    }
    // A message can come again (offsets are committed once a second; a restart or rebalance re-reads what
    // was read since): each subscriber still gets each event once.
    if (!this.recentIds.add(event.id)) return;
    for (const subscriber of this.subscribers) {
      try {
        subscriber.offer(event);
      } catch (error) {
        this.logger.warn({ err: error, eventId: event.id }, 'a subscriber filter threw; event not delivered');
      }
    }
  }

  /** A readiness check: throws once kafkajs has given up on the feed's consumer. */
  readiness = (): Promise<void> => this.group.readiness();

  /** Ends every subscription, leaves the group and deletes it (a per-instance group is never reused). */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    const wasStarted = this.state === 'started';
    this.state = 'stopped';
    for (const subscriber of this.subscribers) subscriber.end();
    this.subscribers.clear();
    await this.group.stop();
    if (wasStarted) await this.deleteGroup();
  }

  private async deleteGroup(): Promise<void> {
    const admin = this.connection.kafka.admin();
    try {
      await admin.connect();
      await admin.deleteGroups([this.groupId]);
    } catch (error) {
      // The broker forgets an empty group after its offsets retention anyway.
      this.logger.debug({ err: error }, 'could not delete the feed consumer group');
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }
}

/** The last `capacity` ids seen, oldest forgotten first. */
export class RecentIds {
  private readonly ids = new Set<string>();
  private readonly order: string[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  /** false when the id is among the recent ones (a repeat); otherwise remembers it. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    if (this.order.length < this.capacity) this.order.push(id);
    else {
      this.ids.delete(this.order[this.next] as string);
      this.order[this.next] = id;
      this.next = (this.next + 1) % this.capacity;
    }
    this.ids.add(id);
    return true;
  }
}

/** One subscriber's bounded queue, read as an async iterator. */
class FeedSubscription<E> implements AsyncIterableIterator<E> {
  private readonly buffer: E[] = [];
  private waiting:
    | { resolve: (result: IteratorResult<E>) => void; reject: (error: Error) => void }
    | undefined;
  private finished = false;
  private failure: Error | undefined;

  constructor(
    private readonly filter: (event: E) => boolean,
    private readonly bufferSize: number,
    private readonly feedName: string,
    private readonly onEnd: (subscription: FeedSubscription<E>) => void,
  ) {}

  offer(event: E): void {
    if (this.finished || this.failure || !this.filter(event)) return;
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve({ value: event, done: false });
      return;
    }
    if (this.buffer.length >= this.bufferSize) {
      // Delivered what it has, then the error: the client learns it missed events and can resubscribe.
      this.failure = new SubscriberOverflowError(this.feedName, this.bufferSize);
      this.onEnd(this);
      return;
    }
    this.buffer.push(event);
  }

  next(): Promise<IteratorResult<E>> {
    const value = this.buffer.shift();
    if (value !== undefined) return Promise.resolve({ value, done: false });
    if (this.failure) {
      const failure = this.failure;
      this.finished = true;
      this.failure = undefined;
      return Promise.reject(failure);
    }
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  /** Ends the subscription (the client went away, or the feed stopped). */
  end(): void {
    if (this.finished) return;
    this.finished = true;
    this.failure = undefined;
    this.buffer.length = 0;
    this.onEnd(this);
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve({ value: undefined, done: true });
  }

  return(): Promise<IteratorResult<E>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<E>> {
    this.end();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<E> {
    return this;
  }
}
