import { createTestKeys } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import { VerifiedTokenCache, withVerifiedTokenCache } from './token-cache';

describe('VerifiedTokenCache', () => {
  it('verifies a token once and answers the same viewer until it expires', async () => {
    const keys = await createTestKeys();
    let calls = 0;
    const verifier = {
      fromAuthorizationHeader: (header: string | undefined) => {
        calls += 1;
        return keys.verifier.fromAuthorizationHeader(header);
      },
    };
    let now = Date.now();
    const cache = new VerifiedTokenCache(verifier, 10, () => now);
    const header = `Bearer ${await keys.tokenFor('CUSTOMER', 60)}`;
    const first = await cache.fromAuthorizationHeader(header);
    const second = await cache.fromAuthorizationHeader(header);
    expect(second).toBe(first);
    expect(calls).toBe(1);
    // Past its exp (by the cache's clock) the entry is dropped and the token goes to the verifier again, whose
    // answer is not remembered while already expired.
    now += 61_000;
    await cache.fromAuthorizationHeader(header);
    expect(calls).toBe(2);
    expect(cache.size).toBe(0);
  });

  it('never remembers a refusal: a bad token is checked, and refused, every time', async () => {
    const keys = await createTestKeys();
    const stranger = await createTestKeys();
    let calls = 0;
    const cache = new VerifiedTokenCache({
      fromAuthorizationHeader: (header) => {
        calls += 1;
        return keys.verifier.fromAuthorizationHeader(header);
      },
    });
    const forged = `Bearer ${await stranger.tokenFor('ADMIN')}`;
    for (let i = 0; i < 2; i++) {
      await expect(cache.fromAuthorizationHeader(forged)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    }
    await expect(cache.fromAuthorizationHeader('Basic abc')).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    expect(calls).toBe(3);
    expect(cache.size).toBe(0);
    expect(await cache.fromAuthorizationHeader(undefined)).toBeUndefined();
  });

  it('holds at most `capacity` tokens, dropping the oldest', async () => {
    const keys = await createTestKeys();
    const cache = new VerifiedTokenCache(keys.verifier, 2);
    const headers = await Promise.all([1, 2, 3].map(async () => `Bearer ${await keys.tokenFor('CUSTOMER')}`));
    for (const header of headers) await cache.fromAuthorizationHeader(header);
    expect(cache.size).toBe(2);
  });
});

describe('withVerifiedTokenCache', () => {
  it('is a TokenVerifier whose header check is cached and whose verify is the original', async () => {
    const keys = await createTestKeys();
    const cached = withVerifiedTokenCache(keys.verifier);
    const token = await keys.tokenFor('ADMIN');
    const viewer = await cached.fromAuthorizationHeader(`Bearer ${token}`);
    expect(await cached.fromAuthorizationHeader(`Bearer ${token}`)).toBe(viewer);
    expect((await cached.verify(token)).userId).toBe(viewer?.userId);
    await expect(cached.fromAuthorizationHeader('Bearer nope')).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
  });
});
