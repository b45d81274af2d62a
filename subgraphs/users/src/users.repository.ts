import { refuseDuplicates } from '@shop/db';
import { z } from 'zod';
import type { Prisma, PrismaClient, Role } from './generated/prisma/client';

/** A user as the rest of the subgraph sees it: never with the password hash. */
export interface UserRecord {
  id: string;
  email: string;
  name: string;
  role: Role;
  createdAt: Date;
  updatedAt: Date;
}

export interface RefreshTokenRecord {
  id: string;
  userId: string;
  familyId: string;
  expiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
}

export interface NewUser {
  email: string;
  name: string;
  passwordHash: string;
  role: Role;
}

export interface NewRefreshToken {
  userId: string;
  familyId: string;
  tokenHash: string;
  expiresAt: Date;
}

/** A refresh token row locked for the rest of a transaction, and what may be done to it meanwhile. */
export interface LockedRefreshToken {
  token: RefreshTokenRecord;
  markUsed: (at: Date) => Promise<void>;
  /** Revokes every token of the family that is not revoked yet (the newest one included). */
  revokeFamily: (at: Date) => Promise<void>;
  /** Adds the successor of the locked token to its family. */
  addToFamily: (next: { tokenHash: string; expiresAt: Date }) => Promise<void>;
  findOwner: () => Promise<UserRecord | undefined>;
}

const userColumns = {
  id: true,
  email: true,
  name: true,
  role: true,
  createdAt: true,
  updatedAt: true,
} satisfies Prisma.UserSelect;

// Rows of the raw locking query, checked rather than trusted.
const lockedTokenRow = z.object({
  id: z.string(),
  userId: z.string(),
  familyId: z.string(),
  expiresAt: z.date(),
  usedAt: z.date().nullable(),
  revokedAt: z.date().nullable(),
  createdAt: z.date(),
});

type Db = PrismaClient | Prisma.TransactionClient;

/** The only code that touches Prisma. Emails are expected lower-cased already (the service normalises). */
export class UsersRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** One query for any number of well-formed ids (the by-id loader's batch); unknown ids are absent. */
  findUsersByIds(ids: readonly string[]): Promise<UserRecord[]> {
    return this.prisma.user.findMany({ where: { id: { in: [...ids] } }, select: userColumns });
  }

  /** The account and its password hash, for signing in; undefined when no account has this email. */
  async findCredentialsByEmail(
    email: string,
  ): Promise<{ user: UserRecord; passwordHash: string } | undefined> {
    const row = await this.prisma.user.findUnique({
      where: { email },
      select: { ...userColumns, passwordHash: true },
    });
    if (row === null) return undefined;
    const { passwordHash, ...user } = row;
    return { user, passwordHash };
  }

  /** The password hash of an account, for checking a password it is about to change. */
  async findPasswordHash(userId: string): Promise<string | undefined> {
    const row = await this.prisma.user.findUnique({ where: { id: userId }, select: { passwordHash: true } });
    return row?.passwordHash;
  }

  /** Inserts a user. @throws UniqueViolation when the email is taken (also under a concurrent insert). */
  createUser(user: NewUser): Promise<UserRecord> {
    return refuseDuplicates(() => this.prisma.user.create({ data: user, select: userColumns }));
  }

  /**
   * Sets a new password hash and revokes every refresh token of the account in one transaction, so no session
   * started with the old password survives the change. Returns the user, or undefined if the account is gone.
   */
  replacePassword(userId: string, passwordHash: string, at: Date): Promise<UserRecord | undefined> {
    return this.prisma.$transaction(async (tx) => {
      const changed = await tx.user.updateMany({ where: { id: userId }, data: { passwordHash } });
      if (changed.count === 0) return undefined;
      await tx.refreshToken.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: at } });
      return (await tx.user.findUnique({ where: { id: userId }, select: userColumns })) ?? undefined;
    });
  }

  /** Creates the user or overwrites name, password and role of the one with that email (demo data). */
  upsertUserByEmail(user: NewUser): Promise<UserRecord> {
    const { email, ...rest } = user;
    return this.prisma.user.upsert({ where: { email }, create: user, update: rest, select: userColumns });
  }

  async createRefreshToken(token: NewRefreshToken): Promise<void> {
    await this.prisma.refreshToken.create({ data: token, select: { id: true } });
  }

  /** Revokes the family of the token with this hash, if there is one; returns how many tokens it revoked. */
  revokeFamilyOf(tokenHash: string, at: Date): Promise<number> {
    return this.prisma.$transaction(async (tx) => {
      const familyId = await lockFamilyOf(tx, tokenHash);
      return familyId === undefined ? 0 : revokeFamily(tx, familyId, at);
    });
  }

  /**
   * Runs `work` in one transaction that holds the token's family lock and a row lock (`SELECT ... FOR UPDATE`)
   * on the refresh token with this hash, so concurrent presentations of one token are decided one after the
   * other, and a rotation and a revocation of the same family never interleave (a revocation cannot miss a
   * successor created at the same moment). `work` receives undefined for an unknown hash. Whatever `work`
   * returns is committed; a throw rolls everything back.
   */
  withLockedRefreshToken<T>(
    tokenHash: string,
    work: (locked: LockedRefreshToken | undefined) => Promise<T>,
  ): Promise<T> {
    return this.prisma.$transaction(async (tx) => {
      if ((await lockFamilyOf(tx, tokenHash)) === undefined) return work(undefined);
      const rows = await tx.$queryRaw<unknown[]>`
        SELECT id, user_id AS "userId", family_id AS "familyId", expires_at AS "expiresAt",
               used_at AS "usedAt", revoked_at AS "revokedAt", created_at AS "createdAt"
          FROM refresh_tokens
         WHERE token_hash = ${tokenHash}
           FOR UPDATE`;
      if (rows[0] === undefined) return work(undefined);
      const token = lockedTokenRow.parse(rows[0]);
      return work({
        token,
        markUsed: async (at) => {
          await tx.refreshToken.update({
            where: { id: token.id },
            data: { usedAt: at },
            select: { id: true },
          });
        },
        revokeFamily: async (at) => {
          await revokeFamily(tx, token.familyId, at);
        },
        addToFamily: async (next) => {
          await tx.refreshToken.create({
            data: { userId: token.userId, familyId: token.familyId, ...next },
            select: { id: true },
          });
        },
        findOwner: async () =>
          (await tx.user.findUnique({ where: { id: token.userId }, select: userColumns })) ?? undefined,
      });
    });
  }
}

/**
 * Takes the transaction-scoped lock of the family the token with this hash belongs to; undefined for an
 * unknown token. Rotation and revocation both take it first (and only then row locks), so they serialise per
 * family without deadlocking.
 */
async function lockFamilyOf(tx: Prisma.TransactionClient, tokenHash: string): Promise<string | undefined> {
  const token = await tx.refreshToken.findUnique({ where: { tokenHash }, select: { familyId: true } });
  if (token === null) return undefined;
  await tx.$queryRaw`SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtextextended(${token.familyId}, 0))) AS locked`;
  return token.familyId;
}

async function revokeFamily(db: Db, familyId: string, at: Date): Promise<number> {
  const { count } = await db.refreshToken.updateMany({
    where: { familyId, revokedAt: null },
    data: { revokedAt: at },
  });
  return count;
}
