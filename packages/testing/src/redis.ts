import { randomUUID } from 'node:crypto';
import { readInfraSettings } from '@shop/infra';
import { Redis } from 'ioredis';

export interface TestRedis {
  /** A client whose every key carries `prefix`, so tests sharing one Redis never see each other's keys. */
  redis: Redis;
  prefix: string;
  cleanup: () => Promise<void>;
}

export async function createTestRedis(): Promise<TestRedis> {
  const prefix = `t${randomUUID().slice(0, 8)}:`;
  const redis = new Redis(readInfraSettings().redisUrl, { keyPrefix: prefix, lazyConnect: true });
  await redis.connect();
  return {
    redis,
    prefix,
    cleanup: async () => {
      // keyPrefix does not apply to SCAN patterns or to DEL of the keys SCAN returns, so use a raw client.
      const raw = redis.duplicate({ keyPrefix: '' });
      let cursor = '0';
      do {
        const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        if (keys.length > 0) await raw.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      raw.disconnect();
      redis.disconnect();
    },
  };
}
