import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventInProgressError, handleOnceInRedis, processedEventKey } from '@shop/events';
import { createTestRedis, type TestRedis } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('handleOnceInRedis', () => {
  let testRedis: TestRedis;
  const event = () => ({ id: randomUUID() });

  beforeAll(async () => {
    testRedis = await createTestRedis();
  });
  afterAll(async () => {
    await testRedis.cleanup();
  });

  it('runs the work once per group and event, and remembers it under the client key prefix', async () => {
    const { redis, prefix } = testRedis;
    const e = event();
    let runs = 0;
    const work = async () => void runs++;

    expect(await handleOnceInRedis(redis, 'cart', e, work)).toBe('processed');
    expect(await handleOnceInRedis(redis, 'cart', e, work)).toBe('duplicate');
    expect(await handleOnceInRedis(redis, 'cart-mailer', e, work)).toBe('processed');
    expect(runs).toBe(2);

    const raw = redis.duplicate({ keyPrefix: '' });
    try {
      const key = `${prefix}${processedEventKey('cart', e.id)}`;
      expect(await raw.get(key)).toBe('done');
      const ttl = await raw.ttl(key);
      expect(ttl).toBeGreaterThan(7 * 86_400 - 60);
      expect(ttl).toBeLessThanOrEqual(7 * 86_400);
    } finally {
      raw.disconnect();
    }
    expect(await handleOnceInRedis(redis, 'short', event(), work, { ttlSeconds: 60 })).toBe('processed');
  });

  it('releases the claim when the work throws, so the retry runs it', async () => {
    const e = event();
    let runs = 0;
    await expect(
      handleOnceInRedis(testRedis.redis, 'cart', e, async () => {
        runs++;
        throw new Error('product service down');
      }),
    ).rejects.toThrow('product service down');

    expect(await handleOnceInRedis(testRedis.redis, 'cart', e, async () => void runs++)).toBe('processed');
    expect(runs).toBe(2);
  });

  it('refuses an event being handled elsewhere, then reports it a duplicate once done', async () => {
    const e = event();
    let finish: (() => void) | undefined;
    const first = handleOnceInRedis(
      testRedis.redis,
      'cart',
      e,
      () => new Promise((resolve) => (finish = resolve)),
    );
    await waitUntil(() => finish !== undefined);

    await expect(handleOnceInRedis(testRedis.redis, 'cart', e, async () => {})).rejects.toBeInstanceOf(
      EventInProgressError,
    );
    finish?.();
    expect(await first).toBe('processed');
    expect(await handleOnceInRedis(testRedis.redis, 'cart', e, async () => {})).toBe('duplicate');
  });

  it('runs the work again after a worker died mid-work and its lease ran out', async () => {
    const e = event();
    // What a process that died inside `work` leaves behind: its claim, with a lease.
    const dying = handleOnceInRedis(testRedis.redis, 'cart', e, () => new Promise(() => {}), {
      leaseMs: 300,
    });
    void dying;
    await sleep(50);
    await expect(handleOnceInRedis(testRedis.redis, 'cart', e, async () => {})).rejects.toBeInstanceOf(
      EventInProgressError,
    );

    await sleep(350);
    let runs = 0;
    expect(await handleOnceInRedis(testRedis.redis, 'cart', e, async () => void runs++)).toBe('processed');
    expect(runs).toBe(1);
  });
});

async function waitUntil(check: () => boolean): Promise<void> {
  while (!check()) await sleep(5);
}
