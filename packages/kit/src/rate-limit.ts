import { AppError } from './errors';

/** The one Redis command the limiter needs (ioredis' `eval`), so the kit does not depend on a client. */
export interface RedisEval {
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  del(...keys: string[]): Promise<number>;
}

/** At most `limit` hits per subject in a window of `windowSeconds` that starts at the subject's first hit. */
export interface RateLimitRule {
  /** Part of the Redis key (`rate:<name>:<subject>`), so rules never share counters. */
  name: string;
  limit: number;
  windowSeconds: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** Hits counted in the current window, this one included. */
  count: number;
  /** When the window ends, in whole seconds from now (at least 1). */
  retryAfterSeconds: number;
}

// Atomic count-and-expire: concurrent hits on one subject (100 aliases, parallel requests, several instances)
// are counted exactly. The window starts at the first hit; a key without expiry (never expected) gets one.
const HIT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}`;

// Gives back one hit (a success that should not count), never below zero and keeping the window.
const REFUND = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then redis.call('DECR', KEYS[1]) end
return count`;

/**
 * The limiter's Redis did not answer (down, unreachable, or slower than the limiter waits): the guarded work is
 * refused with SERVICE_UNAVAILABLE (503), never let through uncounted. Brute force must not get easier because
 * Redis is away.
 */
export class RateLimiterUnavailable extends AppError {
  constructor(
    message = 'This is unavailable for a moment (its protection against abuse cannot be checked); try again shortly',
  ) {
    super('SERVICE_UNAVAILABLE', message);
    this.name = 'RateLimiterUnavailable';
  }
}

/** How long the limiter waits for Redis before it refuses the guarded work (RateLimiterUnavailable). */
export const RATE_LIMITER_TIMEOUT_MS = 2_000;

/**
 * Fixed-window counters in Redis, shared by every instance of a service. A hit is counted before the work it
 * guards (so a burst cannot slip past while the first attempts are still running); work that should not count
 * (a successful sign-in) is refunded or reset afterwards. It fails closed: when Redis does not answer within
 * `timeoutMs`, every call throws RateLimiterUnavailable.
 */
export class RateLimiter {
  constructor(
    private readonly redis: RedisEval,
    private readonly timeoutMs = RATE_LIMITER_TIMEOUT_MS,
  ) {}

  private key(rule: RateLimitRule, subject: string): string {
    return `rate:${rule.name}:${subject}`;
  }

  /** One Redis command, bounded in time; any failure of the store becomes RateLimiterUnavailable. */
  private async ask<T>(command: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('rate limiter store timed out')), this.timeoutMs);
    });
    try {
      return await Promise.race([command(), timeout]);
    } catch {
      throw new RateLimiterUnavailable();
    } finally {
      clearTimeout(timer);
    }
  }

  /** Counts one hit for `subject`; `allowed` is false once the rule's limit is exceeded in this window. */
  async hit(rule: RateLimitRule, subject: string): Promise<RateLimitDecision> {
    const answer = (await this.ask(() =>
      this.redis.eval(HIT, 1, this.key(rule, subject), rule.windowSeconds * 1000),
    )) as [number, number];
    const [count, ttlMs] = answer;
    return {
      allowed: count <= rule.limit,
      count,
      retryAfterSeconds: Math.max(1, Math.ceil(ttlMs / 1000)),
    };
  }

  /** Counts one hit for each (rule, subject) pair; refused when any of them is over its limit. */
  async hitAll(checks: readonly (readonly [RateLimitRule, string])[]): Promise<RateLimitDecision> {
    const decisions = await Promise.all(checks.map(([rule, subject]) => this.hit(rule, subject)));
    const refused = decisions.filter((decision) => !decision.allowed);
    return {
      allowed: refused.length === 0,
      count: Math.max(0, ...decisions.map((decision) => decision.count)),
      retryAfterSeconds: Math.max(1, ...refused.map((decision) => decision.retryAfterSeconds)),
    };
  }

  /** Takes back one hit (the guarded work turned out not to count). */
  async refund(rule: RateLimitRule, subject: string): Promise<void> {
    await this.ask(() => this.redis.eval(REFUND, 1, this.key(rule, subject)));
  }

  /** Forgets every hit of `subject` (a successful sign-in clears the account's failures). */
  async reset(rule: RateLimitRule, subject: string): Promise<void> {
    await this.ask(() => this.redis.del(this.key(rule, subject)));
  }
}

/** The coded error of a refused hit: RATE_LIMITED (429) with `extensions.retryAfterSeconds`. */
export function rateLimited(
  retryAfterSeconds: number,
  message = 'Too many attempts; try again later',
): AppError {
  return new AppError('RATE_LIMITED', message, { retryAfterSeconds });
}

/** Throws RATE_LIMITED when the decision refuses. */
export function assertAllowed(decision: RateLimitDecision, message?: string): void {
  if (!decision.allowed) throw rateLimited(decision.retryAfterSeconds, message);
}
