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
 * Fixed-window counters in Redis, shared by every instance of a service. A hit is counted before the work it
 * guards (so a burst cannot slip past while the first attempts are still running); work that should not count
 * (a successful sign-in) is refunded or reset afterwards.
 */
export class RateLimiter {
  constructor(private readonly redis: RedisEval) {}

  private key(rule: RateLimitRule, subject: string): string {
    return `rate:${rule.name}:${subject}`;
  }

  /** Counts one hit for `subject`; `allowed` is false once the rule's limit is exceeded in this window. */
  async hit(rule: RateLimitRule, subject: string): Promise<RateLimitDecision> {
    const answer = (await this.redis.eval(HIT, 1, this.key(rule, subject), rule.windowSeconds * 1000)) as [
      number,
      number,
    ];
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
    await this.redis.eval(REFUND, 1, this.key(rule, subject));
  }

  /** Forgets every hit of `subject` (a successful sign-in clears the account's failures). */
  async reset(rule: RateLimitRule, subject: string): Promise<void> {
    await this.redis.del(this.key(rule, subject));
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
