import { createHash, randomUUID } from 'node:crypto';
import { UniqueViolation } from '@shop/db';
import {
  assertAllowed,
  type ClientInfo,
  conflict,
  type Logger,
  parseInput,
  type RateLimiter,
  type RateLimitRule,
  requireOwnerOrAdmin,
  requireViewer,
  type TokenIssuer,
  unauthenticated,
  type Viewer,
} from '@shop/kit';
import type DataLoader from 'dataloader';
import { z } from 'zod';
import { checkPasswordPolicy, passwordLength } from './password-policy';
import type { PasswordHasher } from './passwords';
import { hashRefreshToken, newRefreshToken } from './refresh-tokens';
import type { UserRecord, UsersRepository } from './users.repository';

export const registerInputSchema = z
  .object({
    email: z.string().trim().toLowerCase().max(254).pipe(z.email('must be a valid email address')),
    password: passwordLength,
    name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
  })
  .superRefine(checkPasswordPolicy);

export type RegisterInput = z.input<typeof registerInputSchema>;

const newPasswordSchema = z
  .object({ newPassword: passwordLength, email: z.string() })
  .superRefine(({ newPassword, email }, ctx) =>
    checkPasswordPolicy({ password: newPassword, email }, ctx, 'newPassword'),
  );

/** The outcome of a password change a client branches on (a GraphQL union, not an error). */
export type ChangePasswordOutcome = PasswordChangedOutcome | WrongCurrentPasswordOutcome;
export interface PasswordChangedOutcome {
  kind: 'PasswordChanged';
  /** A fresh session: every earlier refresh token of the account was revoked with the change. */
  session: AuthSession;
}
export interface WrongCurrentPasswordOutcome {
  kind: 'WrongCurrentPassword';
}

/** A signed-in session as issued to a client. */
export interface AuthSession {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
  user: UserRecord;
}

/** Loads users by id within one request; one database query per batch. */
export type UserLoader = Pick<DataLoader<string, UserRecord | null>, 'load'>;

/** The rate limits of sign-in and account operations (Redis counters shared by every instance). */
export interface UsersLimits {
  windowSeconds: number;
  /** Failed sign-ins and wrong current passwords, per account and per client address. */
  loginFailuresPerAccount: number;
  loginFailuresPerAddress: number;
  registrationsPerAddress: number;
  refreshesPerAddress: number;
}

export interface UsersServiceDeps {
  repository: UsersRepository;
  passwords: PasswordHasher;
  tokenIssuer: TokenIssuer;
  refreshTokenTtlDays: number;
  logger: Logger;
  limiter: RateLimiter;
  limits: UsersLimits;
}

// One message for every failed sign-in, so the answer never tells whether the email has an account.
const invalidCredentials = () => unauthenticated('Invalid email or password');
// One message for every refused refresh token: unknown, expired, revoked or reused look alike to the caller.
const invalidRefreshToken = () => unauthenticated('Refresh token is invalid or expired');

const DAY_MS = 24 * 60 * 60 * 1000;

/** Registration, sign-in, refresh-token rotation and who may see which user. Knows nothing of GraphQL. */
export class UsersService {
  private readonly rules: Record<
    'loginPerAccount' | 'loginPerAddress' | 'registerPerAddress' | 'refreshPerAddress',
    RateLimitRule
  >;

  constructor(private readonly deps: UsersServiceDeps) {
    const { windowSeconds, ...limits } = deps.limits;
    this.rules = {
      loginPerAccount: { name: 'login-account', limit: limits.loginFailuresPerAccount, windowSeconds },
      loginPerAddress: { name: 'login-address', limit: limits.loginFailuresPerAddress, windowSeconds },
      registerPerAddress: { name: 'register-address', limit: limits.registrationsPerAddress, windowSeconds },
      refreshPerAddress: { name: 'refresh-address', limit: limits.refreshesPerAddress, windowSeconds },
    };
  }

  /**
   * Creates a CUSTOMER (the role is never taken from input) and signs them in. Every call counts against the
   * client address's registrations, valid or not, so 100 aliased calls in one request create at most the limit.
   */
  async register(input: RegisterInput, client: ClientInfo): Promise<AuthSession> {
    assertAllowed(
      await this.deps.limiter.hit(this.rules.registerPerAddress, client.address),
      'Too many registrations from your address; try again later',
    );
    const { email, password, name } = parseInput(registerInputSchema, input);
    const passwordHash = await this.deps.passwords.hash(password);
    const user = await this.deps.repository
      .createUser({ email, name, passwordHash, role: 'CUSTOMER' })
      .catch((error: unknown) => {
        if (error instanceof UniqueViolation) {
          throw conflict('An account with this email already exists', { field: 'email' });
        }
        throw error;
      });
    return this.startSession(user);
  }

  /**
   * Changes the signed-in user's password after checking the current one. A wrong current password is an
   * expected outcome the client shows next to the field (WrongCurrentPassword), not an error; an invalid new
   * password is BAD_USER_INPUT. Every other session of the account ends: its refresh tokens are revoked.
   */
  async changePassword(
    viewer: Viewer | undefined,
    currentPassword: string,
    newPassword: string,
    client: ClientInfo,
  ): Promise<ChangePasswordOutcome> {
    const { userId, email } = requireViewer(viewer);
    const valid = parseInput(newPasswordSchema, { newPassword, email });
    // Guessing the current password here is guessing a sign-in: the same counters, so neither bypasses the other.
    const attempt = await this.countPasswordAttempt(email, client);
    const currentHash = await this.deps.repository.findPasswordHash(userId);
    if (!(await this.deps.passwords.verify(currentHash, currentPassword))) {
      return { kind: 'WrongCurrentPassword' };
    }
    await attempt.succeeded();
    const passwordHash = await this.deps.passwords.hash(valid.newPassword);
    const user = await this.deps.repository.replacePassword(userId, passwordHash, new Date());
    if (!user) throw unauthenticated('This account no longer exists');
    this.deps.logger.info({ userId }, 'password changed; other sessions revoked');
    return { kind: 'PasswordChanged', session: await this.startSession(user) };
  }

  /**
   * Signs in. Each attempt counts as a failure for the account and the client address before the password is
   * checked (so a burst cannot slip through while the first attempts run); a success takes it back. Over either
   * limit, every attempt is RATE_LIMITED, the right password too, until the window ends; unknown emails are
   * counted alike, so the answer says nothing about which accounts exist.
   */
  async login(email: string, password: string, client: ClientInfo): Promise<AuthSession> {
    const account = normaliseEmail(email);
    const attempt = await this.countPasswordAttempt(account, client);
    const credentials = await this.deps.repository.findCredentialsByEmail(account);
    // verify() runs a full argon2 verification even without an account: same work, same answer.
    const passwordMatches = await this.deps.passwords.verify(credentials?.passwordHash, password);
    if (!credentials || !passwordMatches) throw invalidCredentials();
    await attempt.succeeded();
    return this.startSession(credentials.user);
  }

  /** Counts a password attempt (RATE_LIMITED over a limit); `succeeded` clears the account's failures. */
  private async countPasswordAttempt(email: string, client: ClientInfo) {
    const { limiter } = this.deps;
    // The account's key is a digest: any text a client sends as an email stays out of Redis key names.
    const account = createHash('sha256').update(normaliseEmail(email)).digest('base64url');
    const decision = await limiter.hitAll([
      [this.rules.loginPerAccount, account],
      [this.rules.loginPerAddress, client.address],
    ]);
    if (!decision.allowed) {
      this.deps.logger.warn({ address: client.address }, 'sign-in attempts throttled');
    }
    assertAllowed(decision, 'Too many failed sign-in attempts; try again later');
    return {
      succeeded: async () => {
        await limiter.reset(this.rules.loginPerAccount, account);
        await limiter.refund(this.rules.loginPerAddress, client.address);
      },
    };
  }

  /**
   * Rotation: a valid token is marked used and replaced by a new one in the same family. A token that was
   * already used is a replay (stolen, or a client racing itself): the whole family is revoked, which signs
   * out whoever holds its newest token too. The row lock makes concurrent uses of one token sequential, so
   * at most one of them succeeds and the others count as reuse.
   */
  async refresh(refreshToken: string, client: ClientInfo): Promise<AuthSession> {
    assertAllowed(
      await this.deps.limiter.hit(this.rules.refreshPerAddress, client.address),
      'Too many token refreshes from your address; try again later',
    );
    const now = new Date();
    const next = { token: newRefreshToken(), expiresAt: this.refreshTokenExpiry(now) };
    const outcome = await this.deps.repository.withLockedRefreshToken(
      hashRefreshToken(refreshToken),
      async (locked) => {
        if (!locked) return { refused: 'unknown' } as const;
        const { token } = locked;
        if (token.revokedAt !== null) return { refused: 'revoked' } as const;
        if (token.usedAt !== null) {
          await locked.revokeFamily(now);
          return { refused: 'reused', familyId: token.familyId, userId: token.userId } as const;
        }
        if (token.expiresAt <= now) return { refused: 'expired' } as const;
        const user = await locked.findOwner();
        if (!user) return { refused: 'unknown' } as const;
        await locked.markUsed(now);
        await locked.addToFamily({ tokenHash: hashRefreshToken(next.token), expiresAt: next.expiresAt });
        return { user } as const;
      },
    );
    if ('refused' in outcome) {
      if (outcome.refused === 'reused') {
        this.deps.logger.warn(
          { userId: outcome.userId, familyId: outcome.familyId },
          'refresh token reused: session revoked',
        );
      }
      throw invalidRefreshToken();
    }
    return this.sessionFor(outcome.user, next.token, next.expiresAt);
  }

  /** Ends the session (the token's whole family). Unknown tokens are ignored: nothing to end. */
  async logout(refreshToken: string): Promise<void> {
    await this.deps.repository.revokeFamilyOf(hashRefreshToken(refreshToken), new Date());
  }

  /** The signed-in user as stored now (role from the database, not the token); null if the account is gone. */
  async me(viewer: Viewer | undefined, userById: UserLoader): Promise<UserRecord | null> {
    return userById.load(requireViewer(viewer).userId);
  }

  /**
   * A user entity for another subgraph's reference. Users see only themselves, admins anyone; anonymous
   * callers see no one (UNAUTHENTICATED). Checked before the lookup, so a refusal says nothing about existence.
   * Async on purpose: a refusal must reject this one reference, not throw through the whole `_entities` list.
   */
  async userVisibleTo(
    viewer: Viewer | undefined,
    id: string,
    userById: UserLoader,
  ): Promise<UserRecord | null> {
    requireOwnerOrAdmin(viewer, id);
    return userById.load(id);
  }

  private async startSession(user: UserRecord): Promise<AuthSession> {
    const refreshToken = newRefreshToken();
    const expiresAt = this.refreshTokenExpiry(new Date());
    await this.deps.repository.createRefreshToken({
      userId: user.id,
      familyId: randomUUID(),
      tokenHash: hashRefreshToken(refreshToken),
      expiresAt,
    });
    return this.sessionFor(user, refreshToken, expiresAt);
  }

  private async sessionFor(
    user: UserRecord,
    refreshToken: string,
    refreshTokenExpiresAt: Date,
  ): Promise<AuthSession> {
    const accessToken = await this.deps.tokenIssuer.issueAccessToken({
      userId: user.id,
      role: user.role,
      email: user.email,
      name: user.name,
    });
    return {
      accessToken,
      accessTokenExpiresAt: expiryOf(accessToken),
      refreshToken,
      refreshTokenExpiresAt,
      user,
    };
  }

  private refreshTokenExpiry(from: Date): Date {
    return new Date(from.getTime() + this.deps.refreshTokenTtlDays * DAY_MS);
  }
}

function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** The `exp` claim of a JWT we just signed (the issuer owns the TTL; reading it back keeps one source). */
function expiryOf(jwt: string): Date {
  const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));
  return new Date(z.object({ exp: z.number() }).parse(payload).exp * 1000);
}
