import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { EventEnvelope } from './envelope';
import { noteDuplicate } from './metrics';

export interface HandleOnceInRedisOptions {
  /** How long "done" is remembered (default 7 days): longer than any redelivery or replay can come late. */
  ttlSeconds?: number;
  /**
   * How long a claim holds while the work runs (default 10 s, a consumer's session timeout): the work
   * must finish well within it. A process that dies mid-work frees the event when the lease runs out, by
   * the time Kafka hands its partition to another instance.
   */
  leaseMs?: number;
}

/** Another instance is handling the same event right now: retry later (the consumer does). */
export class EventInProgressError extends Error {
  constructor(consumerGroup: string, eventId: string) {
    super(`event ${eventId} is being handled for ${consumerGroup} elsewhere`);
    this.name = 'EventInProgressError';
  }
}

const DONE = 'done';

// Deletes the claim only if it is still ours: a lease that ran out may belong to another worker by now.
const releaseScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export function processedEventKey(consumerGroup: string, eventId: string): string {
  return `processed-event:${consumerGroup}:${eventId}`;
}

/**
 * `handleOnce` for a subgraph that keeps its state in Redis (the cart): claims the event with
 * `SET NX PX` (a short lease), runs `work`, then marks it done for `ttlSeconds`. Returns 'duplicate' (and
 * runs nothing) for an event already done. If work throws, the claim is released so the retry runs it.
 * Keys go through the client, so its `keyPrefix` applies.
 *
 * Unlike the Postgres version, "done" is not written atomically with the work's own writes: if the process
 * dies between the two, the event runs again after the lease. Make work's writes idempotent (SET rather
 * than INCR) where that matters.
 */
export async function handleOnceInRedis(
  redis: Redis,
  consumerGroup: string,
  event: Pick<EventEnvelope, 'id'>,
  work: () => Promise<void>,
  options: HandleOnceInRedisOptions = {},
): Promise<'processed' | 'duplicate'> {
  const key = processedEventKey(consumerGroup, event.id);
  const claim = `in-progress:${randomUUID()}`;
  const claimed = await redis.set(key, claim, 'PX', options.leaseMs ?? 10_000, 'NX');
  if (claimed !== 'OK') {
    if ((await redis.get(key)) === DONE) {
      noteDuplicate();
      return 'duplicate';
    }
    throw new EventInProgressError(consumerGroup, event.id);
  }
  try {
    await work();
  } catch (error) {
    await redis.eval(releaseScript, 1, key, claim).catch(() => {
      // Could not release: the lease runs out on its own and the retry after that runs the work.
    });
    throw error;
  }
  await redis.set(key, DONE, 'EX', options.ttlSeconds ?? 7 * 86_400);
  return 'processed';
}
