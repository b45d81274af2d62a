import { randomUUID } from 'node:crypto';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { withDatabase } from '../src/index';

// @shop/testing builds on @shop/db, so these tests keep their own small helpers instead of importing it.
// The prefix is the testing kit's, so its global setup also sweeps databases a crashed run left behind.
const postgresUrl = process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export function scratchDatabaseUrl(): string {
  return withDatabase(postgresUrl, `shoptest_${Date.now()}_${randomUUID().slice(0, 8)}`);
}

export async function query<Row extends pg.QueryResultRow>(
  databaseUrl: string,
  sql: string,
  params: unknown[] = [],
): Promise<Row[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<Row>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  await query(withDatabase(databaseUrl, 'postgres'), `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}

/** A writable copy of a migrations folder, plus any extra migrations (folder name → SQL). */
export async function copyMigrations(sourceDir: string, extra: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'shop-migrations-'));
  await cp(sourceDir, dir, { recursive: true });
  for (const [name, sql] of Object.entries(extra)) {
    await mkdir(path.join(dir, name));
    await writeFile(path.join(dir, name, 'migration.sql'), sql);
  }
  return dir;
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
