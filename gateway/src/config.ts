import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envModels, gatewaySecretSetting, trustedProxiesSetting } from '@shop/kit';
import { z } from 'zod';

/** The gateway's settings: a server that verifies tokens (no database, no Kafka), plus its own keys. */
export const gatewayEnvSchema = z.object({
  ...envModels.server(3000).shape,
  ...envModels.auth.shape,
  // Redis holds the per-client request counters every gateway instance shares.
  ...envModels.redis.shape,
  /** Signs the client address forwarded to the subgraphs; the same value as users' and products'. */
  GATEWAY_SECRET: gatewaySecretSetting,
  /**
   * The proxies in front of the gateway (addresses and CIDR ranges, comma-separated; none by default). Only a
   * request whose TCP peer is one of them has its client taken from X-Forwarded-For (the right-most entry that
   * is not a trusted proxy); from anyone else X-Forwarded-For is ignored and the peer is the client.
   */
  TRUSTED_PROXIES: trustedProxiesSetting,
  /** Operations one client (a user, else an address) may send per window; 0 turns the limit off. */
  CLIENT_RATE_LIMIT: z.coerce.number().int().min(0).default(600),
  CLIENT_RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().positive().default(60),
  /** MAX_QUERY_COST, MAX_QUERY_ALIASES, MAX_QUERY_ROOT_FIELDS, MAX_QUERY_BYTES: as on every subgraph (cost-limit.ts). */
  ...envModels.queryLimits.shape,
  /** The composed supergraph; a relative path is taken from the repository root. */
  SUPERGRAPH_PATH: z
    .string()
    .default('schema/supergraph.graphql')
    .transform((path) => resolve(fileURLToPath(new URL('../..', import.meta.url)), path)),
  /** Where a subgraph really runs when not at the URL composed into the supergraph: `users=http://users:3001/graphql,…`. */
  SUBGRAPH_URLS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const entries = value
        .split(',')
        .filter(Boolean)
        .map((pair) => pair.split('='));
      for (const entry of entries) {
        if (entry.length !== 2 || !URL.canParse(entry[1] ?? '')) {
          ctx.addIssue({ code: 'custom', message: `"${entry.join('=')}" is not name=url` });
        }
      }
      return Object.fromEntries(entries) as Record<string, string>;
    }),
  /** How long one subgraph fetch may take; a field whose subgraph has not answered by then fails with SUBGRAPH_TIMEOUT. */
  SUBGRAPH_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** Deepest selection a client may send; deeper operations are refused before planning. */
  MAX_QUERY_DEPTH: z.coerce.number().int().positive().default(12),
  /** Deepest `__schema`/`__type` selection: Sandbox's introspection query is 15 deep, abusive ones far more. */
  MAX_INTROSPECTION_DEPTH: z.coerce.number().int().positive().default(20),
  /** Subscriptions open at once through this gateway (graphql-ws on /graphql). */
  SUBSCRIPTIONS_MAX: z.coerce.number().int().positive().default(10_000),
  /** Subscriptions one user may have open at once (anonymous callers count per address). */
  SUBSCRIPTIONS_MAX_PER_USER: z.coerce.number().int().positive().default(20),
  /** Events a subscription may have waiting for a slow client before it ends (SUBSCRIPTION_QUEUE_OVERFLOW). */
  SUBSCRIPTION_QUEUE_SIZE: z.coerce.number().int().positive().default(100),
  /** Ping interval of websockets (clients and subgraphs); an unanswered ping closes the socket. */
  WS_KEEPALIVE_MS: z.coerce.number().int().positive().default(12_000),
  /** Largest websocket message accepted, in bytes (a larger one closes the socket with 1009). */
  WS_MAX_MESSAGE_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
});

export type GatewayConfig = z.infer<typeof gatewayEnvSchema>;
