import { RateLimiter, type RateLimitRule } from '@shop/kit';
import { createTestRedis, type TestRedis, waitFor } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The kit's RateLimiter against the real Redis, through the same prefixed ioredis client subgraphs get.
describe('RateLimiter (Redis)', () => {
  let redis: TestRedis;
  let limiter: RateLimiter;
  const rule = (name: string, limit = 5, windowSeconds = 60): RateLimitRule => ({
    name,
    limit,
    windowSeconds,
  });

  beforeAll(async () => {
    redis = await createTestRedis();
    limiter = new RateLimiter(redis.redis);
  });
  afterAll(async () => {
    await redis?.cleanup();
  });

  it('allows exactly the limit among 50 concurrent hits, on two clients as on two instances', async () => {
    const secondClient = redis.redis.duplicate();
    const other = new RateLimiter(secondClient);
    const concurrent = rule('concurrent', 7);
    const decisions = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? limiter : other).hit(concurrent, 'subject')),
    );
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(7);
    const refused = decisions.find((decision) => !decision.allowed);
    expect(refused?.retryAfterSeconds).toBeGreaterThanOrEqual(59);
    expect(refused?.retryAfterSeconds).toBeLessThanOrEqual(60);
    secondClient.disconnect();
    // Another subject, or another rule, has its own counter.
    expect((await limiter.hit(concurrent, 'someone else')).allowed).toBe(true);
    expect((await limiter.hit(rule('another rule', 7), 'subject')).allowed).toBe(true);
  });

  it('keys under the client prefix and expires with the window', async () => {
    const short = rule('short', 1, 1);
    expect((await limiter.hit(short, 'a')).allowed).toBe(true);
    expect((await limiter.hit(short, 'a')).allowed).toBe(false);
    expect(await redis.redis.exists('rate:short:a')).toBe(1);
    await waitFor('the window to end', async () => (await redis.redis.exists('rate:short:a')) === 0, {
      timeoutMs: 5_000,
    });
    expect((await limiter.hit(short, 'a')).allowed).toBe(true);
  });

  it('gives back one hit (never below zero) and forgets a subject on reset', async () => {
    const refundable = rule('refund', 2);
    await limiter.hit(refundable, 'b');
    await limiter.hit(refundable, 'b');
    await limiter.refund(refundable, 'b');
    expect((await limiter.hit(refundable, 'b')).count).toBe(2);
    await limiter.reset(refundable, 'b');
    await limiter.refund(refundable, 'b');
    expect((await limiter.hit(refundable, 'b')).count).toBe(1);
  });

  it('hitAll refuses when any rule is over, with the longest wait', async () => {
    const tight = rule('tight', 1, 30);
    const loose = rule('loose', 100, 60);
    expect(
      (
        await limiter.hitAll([
          [tight, 'c'],
          [loose, 'c'],
        ])
      ).allowed,
    ).toBe(true);
    const refused = await limiter.hitAll([
      [tight, 'c'],
      [loose, 'c'],
    ]);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(30);
  });
});
