import { createHash } from 'node:crypto';
import { waitFor } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import { codes, LOGIN, LOGOUT, ME, REFRESH, register, type Session, useUsers } from './harness';

const users = useUsers();

const refresh = (refreshToken: string) => users.graphql<{ refreshToken: Session }>(REFRESH, { refreshToken });
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const tokenRow = (token: string) =>
  users.prisma.refreshToken.findUniqueOrThrow({ where: { tokenHash: sha256(token) } });

async function expectRefused(refreshToken: string) {
  const response = await refresh(refreshToken);
  expect(response.data).toBeNull();
  expect(codes(response)).toEqual(['UNAUTHENTICATED']);
  expect(response.errors?.[0]?.message).toBe('Refresh token is invalid or expired');
}

describe('refresh token rotation', () => {
  it('exchanges a token once for a new pair in the same family', async () => {
    const session = await register(users);
    const rotated = await refresh(session.refreshToken);
    expect(rotated.errors).toBeUndefined();
    const next = rotated.data?.refreshToken as Session;
    expect(next.user).toEqual(session.user);
    expect(next.refreshToken).not.toBe(session.refreshToken);
    expect(await users.graphql(ME, {}, next.accessToken)).toEqual({
      status: 200,
      data: { me: session.user },
    });

    const [first, second] = [await tokenRow(session.refreshToken), await tokenRow(next.refreshToken)];
    expect(second.familyId).toBe(first.familyId);
    expect(first.usedAt).toBeInstanceOf(Date);
    expect(second.usedAt).toBeNull();
    // Only hashes are stored, never the token.
    const stored = await users.prisma.refreshToken.findMany({ where: { userId: session.user.id } });
    expect(JSON.stringify(stored)).not.toContain(session.refreshToken);
    expect(JSON.stringify(stored)).not.toContain(next.refreshToken);
  });

  it('treats a second use as reuse: refused, and the whole family is revoked (the newest token too)', async () => {
    const session = await register(users);
    const second = (await refresh(session.refreshToken)).data?.refreshToken as Session;
    const third = (await refresh(second.refreshToken)).data?.refreshToken as Session;
    expect(third.refreshToken).toEqual(expect.any(String));

    await expectRefused(session.refreshToken);
    await expectRefused(third.refreshToken);
    const family = await users.prisma.refreshToken.findMany({ where: { userId: session.user.id } });
    expect(family).toHaveLength(3);
    expect(family.every((token) => token.revokedAt !== null)).toBe(true);
  });

  it('leaves other sessions of the same user alone when one family is revoked', async () => {
    const session = await register(users);
    const otherDevice = (
      await users.graphql<{ login: Session }>(LOGIN, {
        email: session.user.email,
        password: session.password,
      })
    ).data?.login as Session;
    await refresh(session.refreshToken);
    await expectRefused(session.refreshToken);

    const stillSignedIn = await refresh(otherDevice.refreshToken);
    expect(stillSignedIn.errors).toBeUndefined();
  });

  it('lets exactly one of several concurrent uses of one token succeed', async () => {
    const session = await register(users);
    // Hold the token's row lock while five refreshes arrive, so all five are in flight at once when it is
    // released (unheld, requests this small tend to run one after the other and would prove nothing).
    const attempts = await users.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM refresh_tokens WHERE token_hash = ${sha256(session.refreshToken)} FOR UPDATE`;
      const inFlight = Array.from({ length: 5 }, () => refresh(session.refreshToken));
      await waitFor('five refreshes waiting on the row lock', async () => {
        const [row] = await users.prisma.$queryRaw<{ waiting: number }[]>`
          SELECT count(*)::int AS waiting FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock'`;
        return row?.waiting === 5;
      });
      return inFlight;
    });
    const responses = await Promise.all(attempts);

    const winners = responses.filter((response) => response.data?.refreshToken);
    const losers = responses.filter((response) => codes(response)[0] === 'UNAUTHENTICATED');
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(4);
    expect(await users.prisma.refreshToken.count({ where: { userId: session.user.id } })).toBe(2);
    // The losers presented a token that had just been used: reuse, so the winner's token is revoked as well.
    await expectRefused(winners[0]?.data?.refreshToken.refreshToken as string);
  });

  it('revokes a successor created while a replay is being handled (rotation and revocation never interleave)', async () => {
    const session = await register(users);
    const b = (await refresh(session.refreshToken)).data?.refreshToken.refreshToken as string;
    // A thief rotates B while the victim replays the used token A. Hold B's row so the rotation is
    // mid-flight (holding its family lock) when the replay arrives; then let both run.
    const [rotation, replay] = await users.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM refresh_tokens WHERE token_hash = ${sha256(b)} FOR UPDATE`;
      const thief = refresh(b);
      await waitFor('the rotation to wait on the row', async () => {
        const [row] = await users.prisma.$queryRaw<{ waiting: number }[]>`
          SELECT count(*)::int AS waiting FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock'`;
        return row?.waiting === 1;
      });
      const victim = refresh(session.refreshToken);
      await waitFor('the replay to wait on the family', async () => {
        const [row] = await users.prisma.$queryRaw<{ waiting: number }[]>`
          SELECT count(*)::int AS waiting FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock'`;
        return row?.waiting === 2;
      });
      return [thief, victim] as const;
    });
    const c = (await rotation).data?.refreshToken.refreshToken as string;
    expect(c).toBeTruthy();
    expect(codes(await replay)).toEqual(['UNAUTHENTICATED']);
    // The thief's fresh token C belongs to the revoked family.
    await expectRefused(c);
    expect((await tokenRow(c)).revokedAt).not.toBeNull();
  });

  it('refuses expired, revoked, unknown and malformed tokens', async () => {
    const expired = await register(users);
    await users.prisma.refreshToken.update({
      where: { tokenHash: sha256(expired.refreshToken) },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    await expectRefused(expired.refreshToken);

    const revoked = await register(users);
    await users.prisma.refreshToken.update({
      where: { tokenHash: sha256(revoked.refreshToken) },
      data: { revokedAt: new Date() },
    });
    await expectRefused(revoked.refreshToken);

    await expectRefused('A'.repeat(43));
    await expectRefused('');
  });

  it('signs the new access token with the role the database holds now', async () => {
    const session = await register(users);
    await users.prisma.user.update({ where: { id: session.user.id }, data: { role: 'ADMIN' } });
    const next = (await refresh(session.refreshToken)).data?.refreshToken as Session;
    expect((await users.keys.verifier.verify(next.accessToken)).role).toBe('ADMIN');
    expect(next.user.role).toBe('ADMIN');
  });
});

describe('logout', () => {
  it('revokes the family of the token, and ignores unknown tokens', async () => {
    const session = await register(users);
    const next = (await refresh(session.refreshToken)).data?.refreshToken as Session;

    expect(await users.graphql(LOGOUT, { refreshToken: session.refreshToken })).toEqual({
      status: 200,
      data: { logout: true },
    });
    await expectRefused(next.refreshToken);
    expect(await users.graphql(LOGOUT, { refreshToken: 'unknown' })).toEqual({
      status: 200,
      data: { logout: true },
    });
  });
});
