import { createTestRedis } from '@shop/testing';
import { describe, expect, it } from 'vitest';

describe('createTestRedis', () => {
  it('isolates keys per test and removes them at cleanup', async () => {
    const [a, b] = await Promise.all([createTestRedis(), createTestRedis()]);
    await a.redis.set('cart:1', 'a');
    await b.redis.set('cart:1', 'b');
    expect(await a.redis.get('cart:1')).toBe('a');
    expect(await b.redis.get('cart:1')).toBe('b');
    await a.cleanup();
    expect(await b.redis.get('cart:1')).toBe('b');
    const raw = b.redis.duplicate({ keyPrefix: '' });
    expect(await raw.exists(`${a.prefix}cart:1`)).toBe(0);
    raw.disconnect();
    await b.cleanup();
  });
});
