import { FORWARDED_CLIENT_HEADER, signForwardedClient } from '@shop/kit';
import { launchSubgraph } from '@shop/runtime';
import { testLogger, waitFor } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import { subgraph } from '../src/subgraph';
import { codes, LOGIN, REFRESH, REGISTER, register, type Session, uniqueEmail, useUsers } from './harness';

const GATEWAY_SECRET = 'the-gateway-secret-of-these-tests-0123456789';
// A short window keeps the "after the window" waits short; 6 s rather than less so that a loaded box, where a
// dozen password checks can take seconds, still makes every attempt of a test inside one window.
const limits = {
  GATEWAY_SECRET,
  RATE_LIMIT_WINDOW_SECONDS: '6',
  LOGIN_FAILURES_PER_ACCOUNT: '5',
  LOGIN_FAILURES_PER_ADDRESS: '12',
  REGISTRATIONS_PER_ADDRESS: '10',
  REFRESHES_PER_ADDRESS: '10',
};
const users = useUsers(limits);

type Errors = { errors?: { message: string; extensions?: Record<string, unknown> }[] };

/** POSTs as a client at `address`, forwarded by the gateway (signed), or with a header the client made up. */
async function post(
  query: string,
  variables: Record<string, unknown>,
  headers: Record<string, string> = {},
  url = users.url,
): Promise<{ status: number } & Errors & { data?: Record<string, unknown> | null }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...((await response.json()) as Errors) };
}
const viaGateway = (address: string) => ({
  [FORWARDED_CLIENT_HEADER]: signForwardedClient(GATEWAY_SECRET, address),
});
// Each test acts from its own address (signed by the gateway), so the per-address counters of tests never mix.
let nextAddress = 1;
const freshAddress = () => `198.51.100.${nextAddress++}`;

const login = (email: string, password: string, address: string) =>
  post(LOGIN, { email, password }, viaGateway(address));

describe('sign-in throttling (Redis counters, per account and per client address)', () => {
  it('refuses an account after 5 failures, the right password too, with retryAfterSeconds; then lets it in', async () => {
    const account = await register(users);
    const address = freshAddress();
    for (let attempt = 1; attempt <= 5; attempt++) {
      expect(codes(await login(account.user.email, `wrong guess ${attempt}`, address))).toEqual([
        'UNAUTHENTICATED',
      ]);
    }
    const throttled = await login(account.user.email, account.password, address);
    expect(codes(throttled)).toEqual(['RATE_LIMITED']);
    const retryAfter = throttled.errors?.[0]?.extensions?.retryAfterSeconds;
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(6);
    expect(JSON.stringify(throttled)).not.toMatch(/rate:|redis/i);
    // Another address does not help: the account itself is throttled.
    expect(codes(await login(account.user.email, account.password, freshAddress()))).toEqual([
      'RATE_LIMITED',
    ]);

    // After the window the right password works again, and a success clears the account's failures.
    await waitFor(
      'the window to end',
      async () => (await login(account.user.email, account.password, address)).errors === undefined,
      { timeoutMs: 20_000, intervalMs: 500 },
    );
    expect(codes(await login(account.user.email, 'wrong once more', address))).toEqual(['UNAUTHENTICATED']);
    expect((await login(account.user.email, account.password, address)).errors).toBeUndefined();
  });

  it('throttles one address trying many accounts (unknown emails count alike)', async () => {
    const address = freshAddress();
    const known = await register(users);
    for (let attempt = 1; attempt <= 12; attempt++) {
      expect(codes(await login(uniqueEmail('spray'), 'password guess', address))).toEqual([
        'UNAUTHENTICATED',
      ]);
    }
    expect(codes(await login(known.user.email, known.password, address))).toEqual(['RATE_LIMITED']);
    // The account itself is fine from elsewhere.
    expect((await login(known.user.email, known.password, freshAddress())).errors).toBeUndefined();
  });

  it('ignores a client-made forwarded address: a forged header does not escape its own address limit', async () => {
    // Without a valid signature the caller is a direct client at its TCP address (127.0.0.1 here), whatever
    // address the header claims, so rotating made-up addresses does not reset the counter.
    const second = await launchSubgraph(subgraph, {
      env: { ...users.env, LOGIN_FAILURES_PER_ADDRESS: '12' },
      port: 0,
      host: '127.0.0.1',
      logger: testLogger('users-2'),
    });
    try {
      const account = await register(users);
      const results: string[] = [];
      for (let attempt = 1; attempt <= 14; attempt++) {
        const forged = {
          [FORWARDED_CLIENT_HEADER]: `203.0.113.${attempt};${Math.floor(Date.now() / 1000)};forged`,
          'x-forwarded-for': `203.0.113.${attempt}`,
        };
        // Alternate instances: the counters live in Redis, shared by every instance.
        const url = attempt % 2 === 0 ? second.url : users.url;
        const response = await post(LOGIN, { email: uniqueEmail('forger'), password: 'nope' }, forged, url);
        results.push(String(codes(response)[0]));
      }
      expect(results.slice(0, 12).every((code) => code === 'UNAUTHENTICATED')).toBe(true);
      expect(results.slice(12)).toEqual(['RATE_LIMITED', 'RATE_LIMITED']);
      expect(codes(await post(LOGIN, { email: account.user.email, password: account.password }))).toEqual([
        'RATE_LIMITED',
      ]);
    } finally {
      await second.stop();
    }
  });

  it('counts wrong current passwords in changePassword as failed sign-ins of the account', async () => {
    const session = await register(users);
    const address = freshAddress();
    const CHANGE = `mutation C($current: String!, $next: String!) {
      changePassword(currentPassword: $current, newPassword: $next) { __typename } }`;
    const change = (current: string) =>
      fetch(users.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${session.accessToken}`,
          ...viaGateway(address),
        },
        body: JSON.stringify({ query: CHANGE, variables: { current, next: 'an entirely new phrase' } }),
      }).then((response) => response.json() as Promise<Errors & { data?: unknown }>);
    for (let attempt = 1; attempt <= 5; attempt++) {
      expect(await change(`not it ${attempt}`)).toEqual({
        data: { changePassword: { __typename: 'WrongCurrentPassword' } },
      });
    }
    expect(codes(await change(session.password))).toEqual(['RATE_LIMITED']);
    expect(codes(await login(session.user.email, session.password, freshAddress()))).toEqual([
      'RATE_LIMITED',
    ]);
  });
});

describe('registration and refresh throttling', () => {
  const aliasedRegisters = (stamp: string, count: number) =>
    `mutation { ${Array.from(
      { length: count },
      (_, i) =>
        `r${i}: register(input: { email: "${stamp}-${i}@example.com", password: "purple tractor sings", name: "A" }) { user { id } }`,
    ).join('\n')} }`;
  const createdWith = (stamp: string) =>
    users.prisma.user.count({ where: { email: { startsWith: `${stamp}-` } } });

  it('counts every aliased register call: 15 in one request from one address create 10 accounts', async () => {
    const address = freshAddress();
    const stamp = uniqueEmail('alias').split('@')[0] ?? '';
    const response = await post(aliasedRegisters(stamp, 15), {}, viaGateway(address));
    expect(await createdWith(stamp)).toBe(10);
    // register is non-null: the first refusal nulls the whole result and ends the serial execution there.
    expect(codes(response)).toEqual(['RATE_LIMITED']);
    // The same address stays limited on the next request; another address is not.
    const input = () => ({ input: { email: uniqueEmail(), password: 'purple tractor sings', name: 'B' } });
    expect(codes(await post(REGISTER, input(), viaGateway(address)))).toEqual(['RATE_LIMITED']);
    expect((await post(REGISTER, input(), viaGateway(freshAddress()))).errors).toBeUndefined();
  });

  it('never creates 100 accounts from one request of 100 aliased register calls', async () => {
    const stamp = uniqueEmail('alias100').split('@')[0] ?? '';
    const response = await post(aliasedRegisters(stamp, 100), {}, viaGateway(freshAddress()));
    expect(await createdWith(stamp)).toBeLessThanOrEqual(10);
    expect(response.errors?.length).toBeGreaterThan(0);
  });

  it('limits refreshToken calls per address', async () => {
    const address = freshAddress();
    let session: Session = await register(users);
    for (let n = 1; n <= 10; n++) {
      const response = await post(REFRESH, { refreshToken: session.refreshToken }, viaGateway(address));
      expect(response.errors).toBeUndefined();
      session = (response.data as { refreshToken: Session }).refreshToken;
    }
    const throttled = await post(REFRESH, { refreshToken: session.refreshToken }, viaGateway(address));
    expect(codes(throttled)).toEqual(['RATE_LIMITED']);
    // Refused before the token was looked at: it still works from elsewhere.
    expect(
      (await post(REFRESH, { refreshToken: session.refreshToken }, viaGateway(freshAddress()))).errors,
    ).toBeUndefined();
  });
});
