import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  codes,
  freePort,
  type OwnRedis,
  registerUser,
  snapshotDatabase,
  startOwnRedis,
  startTestSubgraph,
  type TestSubgraph,
  waitFor,
} from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subgraph } from '../src/subgraph';
import { LOGIN, LOGOUT, ME, REFRESH, REGISTER, relaxedLimits, uniqueEmail } from './harness';

const CHANGE_PASSWORD = `mutation Change($current: String!, $next: String!) {
  changePassword(currentPassword: $current, newPassword: $next) { __typename } }`;

// The rate limiter's Redis is a private redis-server this file stops and starts again; the shared one stays up.
describe('sign-in while the rate limiter’s Redis is down (fail closed)', () => {
  let dir: string;
  let redis: OwnRedis;
  let users: TestSubgraph;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shop-users-redis-'));
    redis = await startOwnRedis(dir, await freePort());
    users = await startTestSubgraph(subgraph, { env: { ...relaxedLimits, REDIS_URL: redis.url } });
  });

  afterAll(async () => {
    await users?.stop();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses login, register, refreshToken and changePassword with SERVICE_UNAVAILABLE, changing nothing; the rest works', async () => {
    const account = await registerUser(users.url);
    const newcomer = { email: uniqueEmail(), password: 'a fine long passphrase', name: 'Newcomer' };
    await redis.stop();
    const before = await snapshotDatabase(users.database?.url ?? '');

    const started = Date.now();
    const refused = {
      login: await users.graphql(LOGIN, { email: account.user.email, password: account.password }),
      register: await users.graphql(REGISTER, { input: newcomer }),
      refreshToken: await users.graphql(REFRESH, { refreshToken: account.refreshToken }),
      changePassword: await users.graphql(
        CHANGE_PASSWORD,
        { current: account.password, next: 'another fine passphrase' },
        account.accessToken,
      ),
    };
    const elapsed = Date.now() - started;
    console.info(`limiter Redis down: 4 guarded operations refused in ${elapsed} ms`);
    for (const [operation, response] of Object.entries(refused)) {
      expect({ operation, codes: codes(response), data: response.data }).toEqual({
        operation,
        codes: ['SERVICE_UNAVAILABLE'],
        data: null,
      });
      expect(response.errors?.[0]?.message).toMatch(/unavailable/i);
      expect(JSON.stringify(response)).not.toMatch(/redis|ECONNREFUSED|127\.0\.0\.1|rate:|at .*\.ts/i);
    }
    // Refused quickly (the limiter waits at most 2 s per call), not after a client's timeout.
    expect(elapsed).toBeLessThan(4 * 2_500);
    // Nothing changed: no account, no session, no rotated or revoked token, the password as it was.
    expect(await snapshotDatabase(users.database?.url ?? '')).toEqual(before);

    // Operations the limiter does not guard keep working.
    expect(await users.graphql(ME, {}, account.accessToken)).toEqual({
      status: 200,
      data: { me: account.user },
    });

    // Redis back: the same sign-in and refresh work again, and the refresh token was never spent.
    await redis.start();
    await waitFor(
      'sign-in to work again',
      async () =>
        (await users.graphql(LOGIN, { email: account.user.email, password: account.password })).errors ===
        undefined,
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    const rotated = await users.graphql(REFRESH, { refreshToken: account.refreshToken });
    expect(rotated.errors).toBeUndefined();
    const loggedOut = await users.graphql(LOGOUT, { refreshToken: account.refreshToken });
    expect(loggedOut.data).toEqual({ logout: true });
  });
});
