import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';

/**
 * The advisory-lock key of Prisma's schema engine: holding it makes our runner and `prisma migrate`
 * (on a machine that has the engine) wait for each other.
 */
export const prismaMigrateLockKey = 72707369;

/** The table definition of Prisma's schema engine for Postgres, column for column. */
const createMigrationsTableSql = `
CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`;

export interface MigrationFile {
  /** The folder name, `<timestamp>_<name>`: what Prisma records as `migration_name`. */
  name: string;
  sql: string;
  checksum: string;
}

/**
 * One Prisma `prisma/migrations` folder (`<timestamp>_<name>/migration.sql` and `migration_lock.toml`), or
 * several merged into one history: e.g. `[eventsMigrationsDir, <the subgraph's prisma/migrations>]`.
 */
export type MigrationsDirs = string | readonly string[];

export interface ApplyMigrationsOptions {
  databaseUrl: string;
  migrationsDir: MigrationsDirs;
  log?: (message: string) => void;
}

export interface ApplyMigrationsResult {
  applied: string[];
  alreadyApplied: string[];
}

interface MigrationRow {
  id: string;
  checksum: string;
  migration_name: string;
  started_at: Date;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  logs: string | null;
}

/** Lowercase hex SHA-256 of the script: the checksum Prisma records. */
export function migrationChecksum(sql: string | Buffer): string {
  return createHash('sha256').update(sql).digest('hex');
}

/**
 * Whether a recorded checksum belongs to this script, with Prisma's tolerance: a checkout that changed line
 * endings still matches, and so do rows from old Prisma versions that wrote hex bytes without zero padding.
 */
export function checksumMatches(sql: string, recorded: string): boolean {
  const variants = [sql, sql.replaceAll('\r\n', '\n'), sql.replaceAll('\n', '\r\n')];
  return variants.some((variant) => {
    const digest = createHash('sha256').update(variant).digest();
    const rendered =
      recorded.length === 64 ? digest.toString('hex') : [...digest].map((byte) => byte.toString(16)).join('');
    return rendered === recorded;
  });
}

/**
 * The migrations of one or several Prisma migrations folders, merged in the order Prisma applies them
 * (folder name). The same name in two folders is an error: `_prisma_migrations` could not tell them apart.
 */
export async function readMigrations(migrationsDir: MigrationsDirs): Promise<MigrationFile[]> {
  const dirs = typeof migrationsDir === 'string' ? [migrationsDir] : [...migrationsDir];
  const perDir = await Promise.all(dirs.map(readMigrationsDir));
  const origin = new Map<string, string>();
  perDir.forEach((migrations, i) => {
    for (const { name } of migrations) {
      const other = origin.get(name);
      if (other !== undefined) throw new Error(`migration ${name} is in both ${other} and ${dirs[i]}`);
      origin.set(name, dirs[i] as string);
    }
  });
  return perDir.flat().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function readMigrationsDir(migrationsDir: string): Promise<MigrationFile[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  await assertPostgresLock(
    migrationsDir,
    entries.map((entry) => entry.name),
  );
  const names = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  return Promise.all(
    names.map(async (name) => {
      const file = path.join(migrationsDir, name, 'migration.sql');
      const bytes = await readFile(file).catch((error: unknown) => {
        throw new Error(`migration ${name} has no readable migration.sql (${file})`, { cause: error });
      });
      return { name, sql: bytes.toString('utf8'), checksum: migrationChecksum(bytes) };
    }),
  );
}

/** Prisma refuses a migrations folder written for another database (P3019); so do we. */
async function assertPostgresLock(migrationsDir: string, entryNames: string[]): Promise<void> {
  if (!entryNames.includes('migration_lock.toml')) return;
  const lock = await readFile(path.join(migrationsDir, 'migration_lock.toml'), 'utf8');
  const provider = /^\s*provider\s*=\s*"([^"]*)"/m.exec(lock)?.[1];
  if (provider !== undefined && provider !== 'postgresql') {
    throw new Error(`${migrationsDir}/migration_lock.toml is for provider "${provider}", not "postgresql"`);
  }
}

/**
 * Applies the migrations of `migrationsDir` (one folder or several, merged) that the database has not recorded, each together with its
 * `_prisma_migrations` row in one transaction, so `prisma migrate deploy` elsewhere sees them as applied.
 */
export async function applyMigrations(options: ApplyMigrationsOptions): Promise<ApplyMigrationsResult> {
  const log = options.log ?? (() => {});
  const migrations = await readMigrations(options.migrationsDir);
  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  try {
    // Session-level lock on this one connection: released when it closes, even if we crash.
    await client.query('SELECT pg_advisory_lock($1)', [prismaMigrateLockKey]);
    await client.query(createMigrationsTableSql);
    const { rows } = await client.query<MigrationRow>(
      `SELECT id, checksum, migration_name, started_at, finished_at, rolled_back_at, logs
         FROM _prisma_migrations ORDER BY started_at`,
    );
    assertNoFailedMigrations(rows);

    // Rolled-back rows do not count: Prisma applies such a migration again.
    const recorded = new Map(
      rows.filter((row) => row.rolled_back_at === null).map((row) => [row.migration_name, row]),
    );
    for (const name of recorded.keys()) {
      if (!migrations.some((migration) => migration.name === name)) {
        log(
          `migration ${name} is recorded in the database but missing from ${[options.migrationsDir].flat().join(', ')}`,
        );
      }
    }

    const result: ApplyMigrationsResult = { applied: [], alreadyApplied: [] };
    for (const migration of migrations) {
      const row = recorded.get(migration.name);
      if (row !== undefined) {
        if (!checksumMatches(migration.sql, row.checksum)) {
          throw new Error(
            `migration ${migration.name} was modified after it was applied (recorded checksum ${row.checksum}, ` +
              `file checksum ${migration.checksum}): add a new migration instead of editing an applied one`,
          );
        }
        result.alreadyApplied.push(migration.name);
        continue;
      }
      await applyOne(client, migration);
      log(`applied migration ${migration.name}`);
      result.applied.push(migration.name);
    }
    return result;
  } finally {
    await client.end();
  }
}

async function applyOne(client: pg.Client, migration: MigrationFile): Promise<void> {
  await client.query('BEGIN');
  try {
    // No parameters: the simple query protocol runs a multi-statement script.
    await client.query(migration.sql);
    await client.query(
      `INSERT INTO _prisma_migrations
         (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
       VALUES ($1, $2, clock_timestamp(), $3, NULL, NULL, now(), 1)`,
      [randomUUID(), migration.checksum, migration.name],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`migration ${migration.name} failed and was rolled back: ${reason}`, { cause: error });
  }
}

/** Prisma stops at a failed migration (P3009) until someone resolves it; we do the same, with its wording. */
function assertNoFailedMigrations(rows: MigrationRow[]): void {
  const failed = rows.filter((row) => row.finished_at === null && row.rolled_back_at === null);
  if (failed.length === 0) return;
  const details = failed.map((row) => {
    const logs = row.logs?.trim() ? ` with the following logs:\n${row.logs.trim()}` : '';
    return `The \`${row.migration_name}\` migration started at ${row.started_at.toISOString()} failed${logs}`;
  });
  throw new Error(
    'P3009: migrate found failed migrations in the target database, new migrations will not be applied. ' +
      'Read more about how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve\n' +
      `${details.join('\n')}\n` +
      'Once the database is repaired, mark the row rolled back (`prisma migrate resolve --rolled-back <name>`, ' +
      "or UPDATE _prisma_migrations SET rolled_back_at = now() WHERE id = '<id>') and run the migrations again.",
  );
}
