import type { Logger } from '@shop/kit';
import { Redis } from 'ioredis';

/**
 * The subgraph's Redis client: every key carries `keyPrefix` (environments and tests share one server),
 * commands fail fast while Redis is away instead of queueing without bound, and it reconnects by itself.
 */
export function createRedisClient(url: string, keyPrefix: string, logger: Logger): Redis {
  const client = new Redis(url, {
    keyPrefix,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let reported = false;
  client.on('error', (error) => {
    // ioredis emits an error on every failed reconnect; one line per outage is enough.
    if (!reported) logger.warn({ err: error }, 'redis connection error');
    reported = true;
  });
  client.on('ready', () => {
    reported = false;
  });
  return client;
}

/** Readiness: Redis answers a PING. */
export async function redisReadiness(client: Redis): Promise<void> {
  const answer = await client.ping();
  if (answer !== 'PONG') throw new Error(`redis answered ${answer}`);
}
