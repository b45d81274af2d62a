import { createTestKeys } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import { assertKeyPairMatches } from '../src/subgraph';
import { codes, LOGIN, ME, REGISTER, register, type Session, uniqueEmail, useUsers } from './harness';

const users = useUsers();

const countUsers = () => users.prisma.user.count();

describe('register, login, me', () => {
  it('registers a customer, signs in with any letter case, and me returns them', async () => {
    const email = uniqueEmail('Mixed.Case').replace('@example.com', '@EXAMPLE.com');
    const before = Date.now();
    const registered = await register(users, { email, name: '  Ada Lovelace  ' });
    const after = Date.now();

    expect(registered.user).toEqual({
      id: expect.any(String),
      email: email.toLowerCase(),
      name: 'Ada Lovelace',
      role: 'CUSTOMER',
    });
    // The access token is one every subgraph accepts, carrying who and what role.
    expect(await users.keys.verifier.verify(registered.accessToken)).toMatchObject({
      userId: registered.user.id,
      role: 'CUSTOMER',
      email: email.toLowerCase(),
      name: 'Ada Lovelace',
    });
    // 15 minutes from when the token was issued, some time between `before` and `after` (a loaded box may
    // take more than a second to answer).
    const accessExpiresAt = Date.parse(registered.accessTokenExpiresAt);
    expect(accessExpiresAt - before).toBeGreaterThan(890_000);
    expect(accessExpiresAt - after).toBeLessThanOrEqual(900_000);
    const refreshExpiry = Date.parse(registered.refreshTokenExpiresAt) - before;
    expect(Math.round(refreshExpiry / 86_400_000)).toBe(30);
    expect(registered.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const login = await users.graphql<{ login: Session }>(LOGIN, {
      email: `  ${email.toUpperCase()} `,
      password: registered.password,
    });
    expect(login.errors).toBeUndefined();
    expect(login.data?.login.user).toEqual(registered.user);

    const me = await users.graphql(ME, {}, login.data?.login.accessToken);
    expect(me).toEqual({ status: 200, data: { me: registered.user } });
  });

  it('stores only an argon2id hash of the password', async () => {
    const registered = await register(users, { password: 'a very secret phrase' });
    const row = await users.prisma.user.findUniqueOrThrow({ where: { id: registered.user.id } });
    expect(row.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(row.passwordHash).not.toContain('a very secret phrase');
  });

  it('me answers UNAUTHENTICATED without a token', async () => {
    const response = await users.graphql(ME);
    expect(response.data).toEqual({ me: null });
    expect(codes(response)).toEqual(['UNAUTHENTICATED']);
  });

  it('me reads the role from the database, not from the token', async () => {
    const registered = await register(users);
    await users.prisma.user.update({ where: { id: registered.user.id }, data: { role: 'ADMIN' } });
    const me = await users.graphql<{ me: Session['user'] }>(ME, {}, registered.accessToken);
    expect(me.data?.me.role).toBe('ADMIN');
  });

  it('me is null when the account no longer exists', async () => {
    const registered = await register(users);
    await users.prisma.user.delete({ where: { id: registered.user.id } });
    expect(await users.graphql(ME, {}, registered.accessToken)).toEqual({ status: 200, data: { me: null } });
  });
});

describe('registration rules', () => {
  it('refuses an email already registered in another letter case with CONFLICT', async () => {
    const email = uniqueEmail('taken');
    await register(users, { email });
    const again = await users.graphql(REGISTER, {
      input: { email: email.toUpperCase(), password: 'another password', name: 'Someone Else' },
    });
    expect(again.data).toBeNull();
    expect(codes(again)).toEqual(['CONFLICT']);
    expect(again.errors?.[0]?.extensions?.field).toBe('email');
    expect(await users.prisma.user.count({ where: { email } })).toBe(1);
  });

  it('lets exactly one of several concurrent registrations of one email succeed', async () => {
    const email = uniqueEmail('race');
    const attempts = await Promise.all(
      [1, 2, 3].map((n) =>
        users.graphql(REGISTER, { input: { email, password: 'long enough', name: `Racer ${n}` } }),
      ),
    );
    expect(attempts.map((response) => codes(response)[0] ?? 'OK').sort()).toEqual([
      'CONFLICT',
      'CONFLICT',
      'OK',
    ]);
    expect(await users.prisma.user.count({ where: { email } })).toBe(1);
  });

  it('refuses invalid input with BAD_USER_INPUT naming every field, and writes nothing', async () => {
    const before = await countUsers();
    const response = await users.graphql(REGISTER, {
      input: { email: 'not-an-email', password: 'short', name: '   ' },
    });
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    const fields = response.errors?.[0]?.extensions?.fields as { path: string }[] | undefined;
    expect(fields?.map((field) => field.path).sort()).toEqual(['email', 'name', 'password']);
    expect(response.errors?.[0]?.message).toMatch(/email.*password.*name/);

    const tooLong = await users.graphql(REGISTER, {
      input: { email: uniqueEmail(), password: 'long enough', name: 'x'.repeat(101) },
    });
    expect(codes(tooLong)).toEqual(['BAD_USER_INPUT']);
    expect(tooLong.errors?.[0]?.message).toMatch(/^name:/);
    expect(await countUsers()).toBe(before);
  });

  it('never lets the client choose a role', async () => {
    const before = await countUsers();
    const response = await users.graphql(REGISTER, {
      input: { email: uniqueEmail(), password: 'long enough', name: 'Mallory', role: 'ADMIN' },
    });
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(await countUsers()).toBe(before);
  });
});

describe('login', () => {
  it('gives a wrong password and an unknown email the identical UNAUTHENTICATED answer', async () => {
    const registered = await register(users);
    const wrongPassword = await users.graphql(LOGIN, {
      email: registered.user.email,
      password: 'not the password',
    });
    const unknownEmail = await users.graphql(LOGIN, { email: uniqueEmail('nobody'), password: 'whatever' });
    expect(codes(wrongPassword)).toEqual(['UNAUTHENTICATED']);
    expect(unknownEmail).toEqual(wrongPassword);
    expect(wrongPassword.errors?.[0]?.message).toBe('Invalid email or password');
  });

  it('takes about as long for an unknown email as for a wrong password (a hash is verified either way)', async () => {
    const registered = await register(users);
    const median = async (email: string) => {
      const times: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const started = performance.now();
        await users.graphql(LOGIN, { email, password: 'not the password' });
        times.push(performance.now() - started);
      }
      return times.sort((a, b) => a - b)[2] ?? Number.NaN;
    };
    const wrongPassword = await median(registered.user.email);
    const unknownEmail = await median(uniqueEmail('nobody'));
    // Without the stand-in verification an unknown email answers after one indexed lookup: many times faster.
    expect(unknownEmail).toBeGreaterThan(wrongPassword * 0.5);
  });
});

describe('start-up key check', () => {
  it('accepts the matching key pair and refuses a private key from another pair', async () => {
    await expect(assertKeyPairMatches(users.keys.issuer, users.keys.verifier)).resolves.toBeUndefined();
    const otherKeys = await createTestKeys();
    await expect(assertKeyPairMatches(otherKeys.issuer, users.keys.verifier)).rejects.toThrow(
      /JWT_PRIVATE_KEY is not the private half of JWT_PUBLIC_KEY/,
    );
  });
});

describe('tokens the subgraph refuses (HTTP 401, before any resolver runs)', () => {
  it('refuses an access token signed with another key', async () => {
    const registered = await register(users);
    const otherKeys = await createTestKeys();
    const forged = await otherKeys.tokenFor({
      userId: registered.user.id,
      role: 'ADMIN',
      email: registered.user.email,
    });
    const response = await users.graphql(ME, {}, forged);
    expect(response.status).toBe(401);
    expect(codes(response)).toEqual(['UNAUTHENTICATED']);
  });

  it('refuses an unsigned (alg "none") token', async () => {
    const registered = await register(users);
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({
      sub: registered.user.id,
      role: 'ADMIN',
      email: registered.user.email,
      iss: 'shop-supergraph/users',
      aud: 'shop-supergraph',
      iat: now,
      exp: now + 600,
    })}.`;
    const response = await users.graphql(ME, {}, unsigned);
    expect(response.status).toBe(401);
    expect(codes(response)).toEqual(['UNAUTHENTICATED']);
  });
});

describe('changePassword (a union result the client branches on)', () => {
  const CHANGE = `mutation Change($current: String!, $next: String!) {
    changePassword(currentPassword: $current, newPassword: $next) {
      __typename
      ... on PasswordChanged { session { accessToken refreshToken user { id email } } }
      ... on WrongCurrentPassword { message }
    }
  }`;
  type Changed = {
    changePassword:
      | { __typename: 'PasswordChanged'; session: { accessToken: string; refreshToken: string } }
      | { __typename: 'WrongCurrentPassword'; message: string };
  };

  it('answers WrongCurrentPassword (not an error) and changes nothing when the current password is wrong', async () => {
    const session = await register(users);
    const response = await users.graphql<Changed>(
      CHANGE,
      { current: 'not my password', next: 'a brand new one' },
      session.accessToken,
    );
    expect(response.errors).toBeUndefined();
    expect(response.data?.changePassword).toEqual({
      __typename: 'WrongCurrentPassword',
      message: 'The current password is not correct',
    });
    const login = await users.graphql(LOGIN, { email: session.user.email, password: session.password });
    expect(login.errors).toBeUndefined();
  });

  it('changes the password, ends every other session and returns a fresh one', async () => {
    const session = await register(users);
    const response = await users.graphql<Changed>(
      CHANGE,
      { current: session.password, next: 'a brand new one' },
      session.accessToken,
    );
    const changed = response.data?.changePassword;
    if (changed?.__typename !== 'PasswordChanged') throw new Error(JSON.stringify(response));

    const oldPassword = await users.graphql(LOGIN, { email: session.user.email, password: session.password });
    expect(codes(oldPassword)).toEqual(['UNAUTHENTICATED']);
    const newPassword = await users.graphql(LOGIN, {
      email: session.user.email,
      password: 'a brand new one',
    });
    expect(newPassword.errors).toBeUndefined();
    // The refresh token of the session from before the change no longer works; the fresh one does.
    const REFRESH = 'mutation R($t: String!) { refreshToken(refreshToken: $t) { accessToken } }';
    expect(codes(await users.graphql(REFRESH, { t: session.refreshToken }))).toEqual(['UNAUTHENTICATED']);
    expect((await users.graphql(REFRESH, { t: changed.session.refreshToken })).errors).toBeUndefined();
  });

  it('refuses a too-short new password with BAD_USER_INPUT and anonymous callers with UNAUTHENTICATED', async () => {
    const session = await register(users);
    const short = await users.graphql(
      CHANGE,
      { current: session.password, next: 'short' },
      session.accessToken,
    );
    expect(codes(short)).toEqual(['BAD_USER_INPUT']);
    const anonymous = await users.graphql(CHANGE, { current: session.password, next: 'long enough' });
    expect(codes(anonymous)).toEqual(['UNAUTHENTICATED']);
    const login = await users.graphql(LOGIN, { email: session.user.email, password: session.password });
    expect(login.errors).toBeUndefined();
  });
});
