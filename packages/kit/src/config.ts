import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { defaultQueryLimits, type QueryLimits } from './cost-limit';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses env once against a zod schema; every problem is reported at once (not the first only).
 * Throws ConfigError; `loadConfigOrExit` is the start-up flavour that prints and exits 1.
 */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`),
  );
}

export function loadConfigOrExit<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  try {
    return parseConfig(schema, env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}

const csv = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string()).min(1));

/** PEM text may arrive with literal `\n` (one-line env files); turn those into newlines. */
const pem = (label: string) =>
  z
    .string()
    .transform((value) => value.replaceAll('\\n', '\n'))
    .refine((value) => value.includes(`-----BEGIN ${label}-----`), `must be a PEM ${label.toLowerCase()}`);

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
/** `true` or `false` (nothing else), as a boolean. */
const flag = (fallback: 'true' | 'false') =>
  z
    .enum(['true', 'false'])
    .default(fallback)
    .transform((value) => value === 'true');

export const envSchemas = { csv, pem, port, positiveInt, flag };

/**
 * Env models, opted into one by one: a service composes the ones it needs (`z.object({ ...a.shape, ...b.shape })`
 * or `subgraphEnv` in @shop/runtime), so nothing forces Kafka settings on the gateway or keys on a seed.
 */
export const envModels = {
  /** Every HTTP service: the gateway and each subgraph (the port default differs). */
  server: (defaultPort: number) =>
    z.object({
      NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
      LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      /**
       * Interface to listen on: this machine only unless configured (`0.0.0.0` in a container behind a network
       * policy). Subgraphs are meant to be reached through the gateway, not by clients.
       */
      HOST: z.string().default('127.0.0.1'),
      PORT: port.default(defaultPort),
      SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
      /** Browser origins allowed to call /graphql, comma-separated; `*` for any (development). */
      CORS_ORIGINS: csv.default(['*']),
      /** Prometheus `GET /metrics` on a port of its own (service port + 6400 by default; 0: any free port). */
      METRICS_PORT: port.default(defaultPort + 6400),
      /** Interface of the metrics port; empty: the same as HOST. */
      METRICS_HOST: z.string().default(''),
      METRICS_ENABLED: flag('true'),
    }),
  /**
   * What one operation may ask for, at the gateway and on every subgraph (HTTP and websocket); see the cost
   * model in cost-limit.ts. The defaults let every operation of schema/operations through with pages of 100.
   */
  queryLimits: z.object({
    /** Highest cost of an operation (lists count as many times as their size): QUERY_TOO_COMPLEX above. */
    MAX_QUERY_COST: positiveInt.default(defaultQueryLimits.maxCost),
    /** Most aliased fields in an operation, fragments expanded: TOO_MANY_ALIASES above. */
    MAX_QUERY_ALIASES: positiveInt.default(defaultQueryLimits.maxAliases),
    /** Most root fields in an operation: TOO_MANY_ROOT_FIELDS above. */
    MAX_QUERY_ROOT_FIELDS: positiveInt.default(defaultQueryLimits.maxRootFields),
    /** Largest query text in bytes (variables not counted): QUERY_TOO_LARGE above. */
    MAX_QUERY_BYTES: positiveInt.default(defaultQueryLimits.maxBytes),
  }),
  /** A subgraph's own bounds on one request and one websocket message. */
  subgraphLimits: z.object({
    /** A query or mutation still running after this long gets REQUEST_TIMEOUT for what has not resolved (under
     * the gateway's SUBGRAPH_TIMEOUT_MS, 10 s, so the gateway passes on a coded partial answer). */
    REQUEST_DEADLINE_MS: positiveInt.default(8_000),
    /** Largest websocket message accepted, in bytes (a larger one closes the socket with 1009). */
    WS_MAX_MESSAGE_BYTES: positiveInt.default(1024 * 1024),
  }),
  /** Verifying access tokens: the gateway and every subgraph hold the public key only. */
  auth: z.object({
    JWT_PUBLIC_KEY: pem('PUBLIC KEY'),
    JWT_ISSUER: z.string().default('shop-supergraph/users'),
    JWT_AUDIENCE: z.string().default('shop-supergraph'),
  }),
  postgres: z.object({
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgresql:// URL' }),
    /** Postgres cancels a statement running longer than this (statement_timeout), freeing its connection. */
    DATABASE_STATEMENT_TIMEOUT_MS: positiveInt.default(5_000),
    /**
     * Named prepared statements: Postgres parses and plans each statement once per connection. false behind a
     * pooler that cannot follow them (PgBouncer in transaction mode before 1.21).
     */
    DATABASE_PREPARED_STATEMENTS: flag('true'),
  }),
  redis: z.object({
    REDIS_URL: z
      .url({ protocol: /^rediss?$/, error: 'must be a redis:// URL' })
      .default('redis://127.0.0.1:6379'),
    /** Prefix of every key (several environments or tests can share one Redis). */
    REDIS_KEY_PREFIX: z.string().default(''),
  }),
  kafka: z.object({
    KAFKA_BROKERS: csv.default(['localhost:9092']),
    /** Prefix of every topic and consumer group (several environments can share one broker). */
    KAFKA_TOPIC_PREFIX: z.string().default(''),
  }),
  smtp: z.object({
    /** Empty: no SMTP server configured (`pnpm start` and tests then run a local sink with a web mailbox). */
    SMTP_HOST: z.string().default(''),
    SMTP_PORT: port.default(587),
    SMTP_USER: z.string().default(''),
    SMTP_PASS: z.string().default(''),
    /** true: TLS from the first byte (port 465); false: STARTTLS when the server offers it. */
    SMTP_SECURE: flag('false'),
    MAIL_FROM: z.string().min(3).default('Shop <no-reply@shop.local>'),
  }),
  stripe: z.object({
    STRIPE_SECRET_KEY: z.string().regex(/^sk_(test|live)_\w+$/, 'must be a Stripe secret key (sk_test_…)'),
    STRIPE_WEBHOOK_SECRET: z.string().regex(/^whsec_\w+$/, 'must be a Stripe webhook secret (whsec_…)'),
    /** Only for a Stripe-compatible server in development and tests; empty means Stripe itself. */
    STRIPE_API_URL: z.union([z.url(), z.literal('')]).default(''),
  }),
} as const;

export type EnvModelName = Exclude<keyof typeof envModels, 'server' | 'queryLimits' | 'subgraphLimits'>;

/** The QueryLimits of a parsed config holding the queryLimits model. */
export function queryLimitsOf(config: z.infer<(typeof envModels)['queryLimits']>): QueryLimits {
  return {
    maxCost: config.MAX_QUERY_COST,
    maxAliases: config.MAX_QUERY_ALIASES,
    maxRootFields: config.MAX_QUERY_ROOT_FIELDS,
    maxBytes: config.MAX_QUERY_BYTES,
  };
}

/** KEY=value lines of a dotenv file (such as `.env.example`); quotes around a value are dropped. */
export function readEnvFile(path: URL | string): Record<string, string> {
  const entries = readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => /^([A-Z0-9_]+)=(.*)$/.exec(line.trim()))
    .filter((match) => match !== null)
    .map(([, key, value]) => [key, (value ?? '').replace(/^"(.*)"$/, '$1')]);
  return Object.fromEntries(entries);
}
