import { createHash } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

/** The name of the database a Postgres URL points at. */
export function databaseName(databaseUrl: string): string {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  if (name === '') throw new Error(`database URL names no database: ${redactUrl(databaseUrl)}`);
  return name;
}

/** The same server and credentials, another database. */
export function withDatabase(databaseUrl: string, database: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/** A URL safe to print: the password replaced. */
export function redactUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  if (url.password !== '') url.password = '***';
  return url.toString();
}

/** Creates the database named in the URL unless it exists; returns whether it created it. */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const name = databaseName(databaseUrl);
  const client = new pg.Client({ connectionString: withDatabase(databaseUrl, 'postgres') });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount !== 0) return false;
    try {
      // CREATE DATABASE takes no parameters: the name is quoted as an identifier instead.
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
      return true;
    } catch (error) {
      // Another process created it between our check and our create (42P04, or 23505 on the catalogue).
      const code = (error as { code?: string }).code;
      if (code === '42P04' || code === '23505') return false;
      throw error;
    }
  } finally {
    await client.end();
  }
}

export interface PrismaAdapterOptions {
  /**
   * Postgres cancels any statement of these connections running longer than this (`statement_timeout`, sent
   * when each connection starts), so one slow query cannot hold a pooled connection for longer.
   */
  statementTimeoutMs?: number;
  /**
   * Named prepared statements (default true): each connection prepares a statement once and later runs
   * only bind + execute, so Postgres no longer parses and plans it again every time. Turn off behind a
   * pooler that cannot follow prepared statements (PgBouncer in transaction mode before 1.21).
   */
  preparedStatements?: boolean;
}

/**
 * Names prepared statements by their SQL text (a hash: the same text, the same name on every connection).
 * Bounded: past `limit` distinct texts, new ones run unnamed, so a client that builds many one-off texts
 * cannot grow every connection's set of prepared statements without end.
 */
export function preparedStatementNames(limit = 1_000): (query: { sql: string }) => string {
  const names = new Map<string, string>();
  return ({ sql }) => {
    let name = names.get(sql);
    if (name === undefined) {
      // '' is pg's unnamed statement (parsed again on every run).
      if (names.size >= limit) return '';
      name = `shop_${createHash('sha1').update(sql).digest('base64url').slice(0, 24)}`;
      names.set(sql, name);
    }
    return name;
  };
}

/** The driver adapter a generated Prisma 7 client needs (`new PrismaClient({ adapter })`). */
export function createPrismaAdapter(databaseUrl: string, options: PrismaAdapterOptions = {}): PrismaPg {
  return new PrismaPg(
    {
      connectionString: databaseUrl,
      ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
    },
    options.preparedStatements === false ? {} : { statementNameGenerator: preparedStatementNames() },
  );
}
