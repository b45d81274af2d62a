import { randomUUID } from 'node:crypto';
import { createPrismaAdapter } from '@shop/db';
import { subgraphMigrations } from '@shop/runtime';
import { useMigratedDatabase } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import { Prisma, PrismaClient } from '../src/generated/prisma/client';
import { subgraph } from '../src/subgraph';

// schema.prisma and the hand-written migration must agree: every model, every field, written and read back
// through the generated client against the migrated database, plus the constraints the code relies on.
const db = useMigratedDatabase(
  subgraphMigrations(subgraph),
  (url) => new PrismaClient({ adapter: createPrismaAdapter(url) }),
);

const at = (iso: string) => new Date(iso);
const prismaCode = (error: unknown) =>
  error instanceof Prisma.PrismaClientKnownRequestError ? error.code : String(error);

describe('users schema ↔ migration', () => {
  it('writes and reads every field of User and RefreshToken', async () => {
    const user = {
      id: randomUUID(),
      email: 'every.field@example.com',
      name: 'Every Field',
      passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
      role: 'ADMIN' as const,
      createdAt: at('2026-01-02T03:04:05.678Z'),
      updatedAt: at('2026-01-02T03:04:05.679Z'),
    };
    await db.client.user.create({ data: user });
    const token = {
      id: randomUUID(),
      userId: user.id,
      familyId: randomUUID(),
      tokenHash: 'a'.repeat(64),
      expiresAt: at('2026-03-01T00:00:00.001Z'),
      usedAt: at('2026-02-01T00:00:00.002Z'),
      revokedAt: at('2026-02-01T00:00:00.003Z'),
      createdAt: at('2026-01-31T00:00:00.004Z'),
    };
    await db.client.refreshToken.create({ data: token });

    const read = await db.client.user.findUniqueOrThrow({
      where: { email: user.email },
      include: { refreshTokens: { include: { user: true } } },
    });
    // Millisecond precision survives (timestamptz(3)), and the relation works both ways.
    const { refreshTokens, ...readUser } = read;
    expect(readUser).toEqual(user);
    expect(refreshTokens).toEqual([{ ...token, user }]);
  });

  it('fills the defaults: uuid ids, CUSTOMER role, creation times, null used/revoked', async () => {
    const user = await db.client.user.create({
      data: { email: 'defaults@example.com', name: 'Defaults', passwordHash: 'x' },
    });
    expect(user).toMatchObject({
      role: 'CUSTOMER',
      createdAt: expect.any(Date),
      updatedAt: expect.any(Date),
    });
    expect(user.id).toMatch(/^[0-9a-f-]{36}$/);
    const token = await db.client.refreshToken.create({
      data: { userId: user.id, familyId: randomUUID(), tokenHash: 'b'.repeat(64), expiresAt: new Date() },
    });
    expect(token).toMatchObject({ usedAt: null, revokedAt: null, createdAt: expect.any(Date) });
  });

  it('enforces unique emails and token hashes, the user foreign key, and cascades deletes', async () => {
    const user = await db.client.user.create({
      data: { email: 'unique@example.com', name: 'Unique', passwordHash: 'x' },
    });
    await expect(
      db.client.user.create({ data: { email: 'unique@example.com', name: 'Again', passwordHash: 'x' } }),
    ).rejects.toSatisfy((error) => prismaCode(error) === 'P2002');

    const token = {
      userId: user.id,
      familyId: randomUUID(),
      tokenHash: 'c'.repeat(64),
      expiresAt: new Date(),
    };
    await db.client.refreshToken.create({ data: token });
    await expect(db.client.refreshToken.create({ data: token })).rejects.toSatisfy(
      (error) => prismaCode(error) === 'P2002',
    );
    await expect(
      db.client.refreshToken.create({ data: { ...token, userId: randomUUID(), tokenHash: 'd'.repeat(64) } }),
    ).rejects.toSatisfy((error) => prismaCode(error) === 'P2003');

    await db.client.user.delete({ where: { id: user.id } });
    expect(await db.client.refreshToken.count({ where: { userId: user.id } })).toBe(0);
  });

  it('has the indexes the queries use', async () => {
    const indexes = await db.client.$queryRaw<{ indexname: string }[]>`
      SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname`;
    expect(indexes.map((index) => index.indexname)).toEqual([
      '_prisma_migrations_pkey',
      // The events tables every Postgres subgraph carries (packages/events/migrations).
      'outbox_events_pkey',
      'outbox_events_published_at_sequence_idx',
      'processed_events_pkey',
      'refresh_tokens_family_id_idx',
      'refresh_tokens_pkey',
      'refresh_tokens_token_hash_key',
      'refresh_tokens_user_id_idx',
      'users_email_key',
      'users_pkey',
    ]);
  });
});
