import { readFileSync } from 'node:fs';
import { z } from 'zod';

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

/** Env every subgraph reads; a subgraph extends it with its own keys. */
export const baseEnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().default('0.0.0.0'),
  KAFKA_BROKERS: csv.default(['localhost:9092']),
  KAFKA_TOPIC_PREFIX: z.string().default(''),
  JWT_PUBLIC_KEY: pem('PUBLIC KEY'),
  JWT_ISSUER: z.string().default('shop-supergraph/users'),
  JWT_AUDIENCE: z.string().default('shop-supergraph'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** Browser origins allowed to call /graphql, comma-separated; `*` for any (development). */
  CORS_ORIGINS: csv.default(['*']),
});

export const envSchemas = { csv, pem, port: z.coerce.number().int().min(0).max(65535) };

/** KEY=value lines of a dotenv file (such as `.env.example`); quotes around a value are dropped. */
export function readEnvFile(path: URL | string): Record<string, string> {
  const entries = readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => /^([A-Z0-9_]+)=(.*)$/.exec(line.trim()))
    .filter((match) => match !== null)
    .map(([, key, value]) => [key, (value ?? '').replace(/^"(.*)"$/, '$1')]);
  return Object.fromEntries(entries);
}
