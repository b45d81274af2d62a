import type { ApolloServerPlugin } from '@apollo/server';
import {
  type Logger,
  RateLimiter,
  RateLimiterUnavailable,
  type RateLimitRule,
  type RedisEval,
  requestError,
  type TokenVerifier,
} from '@shop/kit';

/** The gateway's general limit: at most `limit` operations per client in `windowSeconds` (Redis, every instance). */
export interface ClientRateLimit {
  redis: RedisEval;
  limit: number;
  windowSeconds: number;
}

/**
 * Counts every operation of a client (a signed-in user by id, anyone else by address) in Redis, so the limit
 * holds across gateway instances; over it the operation is refused before planning with RATE_LIMITED (429),
 * `extensions.retryAfterSeconds` and a `Retry-After` header. Subgraphs keep their own, stricter limits on
 * sign-in and registration; those fail closed while their Redis is away. This general limit fails open (logged
 * once per outage): refusing every operation of the shop because Redis is down would be the outage it exists to
 * prevent.
 */
export function clientRateLimitPlugin<
  TContext extends { authorization?: string | undefined; clientAddress?: string | undefined },
>(
  options: ClientRateLimit & { tokenVerifier: TokenVerifier; logger?: Logger },
): ApolloServerPlugin<TContext> {
  const limiter = new RateLimiter(options.redis);
  const rule: RateLimitRule = {
    name: 'gateway-client',
    limit: options.limit,
    windowSeconds: options.windowSeconds,
  };
  let storeAway = false;
  return {
    async requestDidStart() {
      let retryAfterSeconds: number | undefined;
      return {
        async didResolveOperation({ contextValue }) {
          const viewer = await options.tokenVerifier
            .fromAuthorizationHeader(contextValue.authorization)
            .catch(() => undefined);
          const subject = viewer
            ? `user:${viewer.userId}`
            : `address:${contextValue.clientAddress ?? 'unknown'}`;
          let decision: Awaited<ReturnType<RateLimiter['hit']>>;
          try {
            decision = await limiter.hit(rule, subject);
            storeAway = false;
          } catch (error) {
            if (!(error instanceof RateLimiterUnavailable)) throw error;
            if (!storeAway) options.logger?.warn('per-client rate limit unavailable (Redis): not counting');
            storeAway = true;
            return;
          }
          if (decision.allowed) return;
          retryAfterSeconds = decision.retryAfterSeconds;
          throw requestError('RATE_LIMITED', 'Too many requests; try again later', {
            status: 429,
            extensions: { retryAfterSeconds },
          });
        },
        async willSendResponse({ response }) {
          if (retryAfterSeconds !== undefined)
            response.http.headers.set('retry-after', String(retryAfterSeconds));
        },
      };
    },
  };
}
