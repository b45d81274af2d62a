import { createHash, randomUUID } from 'node:crypto';
import { applyMigrations, readMigrations, withDatabase } from '@shop/db';
import { readInfraSettings } from '@shop/infra';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';

const TEST_PREFIX = 'shoptest_';
const TEMPLATE_PREFIX = 'shoptpl_';
// Another test run may be going on at the same time: leftovers are only what is older than this.
const LEFTOVER_AGE_MS = 2 * 60 * 60 * 1000;

function today(): number {
  return Math.floor(Date.now() / 86_400_000);
}

/** Test database names carry their creation time so a later run can tell leftovers from live ones. */
function testDatabaseName(): string {
  return `${TEST_PREFIX}${Date.now()}_${randomUUID().slice(0, 8)}`;
}

export interface TestDatabase {
  url: string;
  name: string;
  drop: () => Promise<void>;
}

export async function withPostgresAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    connectionString: withDatabase(readInfraSettings().postgresUrl, 'postgres'),
  });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function databaseExists(client: pg.Client, name: string): Promise<boolean> {
  const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return rowCount === 1;
}

/**
 * A migrated template per distinct set of migrations, built once and cloned per test (a clone takes
 * milliseconds; migrating from scratch each time would not).
 */
async function ensureTemplate(migrationsDir: string | readonly string[]): Promise<string> {
  const migrations = await readMigrations(migrationsDir);
  const hash = createHash('sha256')
    .update(migrations.map((m) => `${m.name}:${m.checksum}`).join('\n'))
    .digest('hex')
    .slice(0, 16);
  // The day in the name lets a later run tell an old template from one in use (rebuilding one takes ms).
  const template = `${TEMPLATE_PREFIX}${today()}_${hash}`;
  await withPostgresAdmin(async (client) => {
    // Test files run in parallel workers: one builds the template, the others wait on the lock.
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [template]);
    try {
      if (await databaseExists(client, template)) return;
      const building = `${template}_building`;
      await client.query(`DROP DATABASE IF EXISTS "${building}" WITH (FORCE)`);
      await client.query(`CREATE DATABASE "${building}"`);
      await applyMigrations({
        databaseUrl: withDatabase(readInfraSettings().postgresUrl, building),
        migrationsDir,
      });
      // Renamed only when complete, so a crash mid-migration never leaves a half-built template.
      await client.query(`ALTER DATABASE "${building}" RENAME TO "${template}"`);
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [template]);
    }
  });
  return template;
}

async function createDatabase(template?: string): Promise<TestDatabase> {
  const name = testDatabaseName();
  await withPostgresAdmin((client) =>
    client.query(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ''}`),
  );
  return {
    name,
    url: withDatabase(readInfraSettings().postgresUrl, name),
    drop: () =>
      withPostgresAdmin(
        async (client) => void (await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)),
      ),
  };
}

/** A fresh database with every migration of `migrationsDir` (one folder or several) applied, private to one test. */
export async function createTestDatabase(migrationsDir: string | readonly string[]): Promise<TestDatabase> {
  return createDatabase(await ensureTemplate(migrationsDir));
}

/** An empty database (for tests of the migration runner itself). */
export function createEmptyTestDatabase(): Promise<TestDatabase> {
  return createDatabase();
}

/**
 * Drops what crashed or earlier runs left behind: test databases older than two hours, and templates (with
 * their half-built `_building` twins) made before yesterday. A run going on at the same time uses neither.
 */
export async function dropLeftoverTestDatabases(): Promise<void> {
  await withPostgresAdmin(async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datname LIKE $1 OR datname LIKE $2',
      [`${TEST_PREFIX}%`, `${TEMPLATE_PREFIX}%`],
    );
    for (const { datname } of rows) {
      const isTemplate = datname.startsWith(TEMPLATE_PREFIX);
      const stamp = Number(datname.slice((isTemplate ? TEMPLATE_PREFIX : TEST_PREFIX).length).split('_')[0]);
      const old = isTemplate ? stamp < today() - 1 : Date.now() - stamp > LEFTOVER_AGE_MS;
      // Names from before these rules carry no stamp (NaN): they are leftovers too.
      if (Number.isNaN(stamp) || old) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  });
}

/**
 * For a test file: a fresh migrated database and a client on it for the whole file, dropped afterwards.
 * Read `.client` / `.database` inside tests (they are set in beforeAll).
 */
export function useMigratedDatabase<C extends { $disconnect(): Promise<void> }>(
  migrationsDir: string | readonly string[],
  createClient: (databaseUrl: string) => C,
): { readonly client: C; readonly database: TestDatabase } {
  let database: TestDatabase | undefined;
  let client: C | undefined;
  beforeAll(async () => {
    database = await createTestDatabase(migrationsDir);
    client = createClient(database.url);
  });
  afterAll(async () => {
    await client?.$disconnect();
    await database?.drop();
  });
  return {
    get client() {
      if (!client) throw new Error('useMigratedDatabase: read .client inside a test or hook');
      return client;
    },
    get database() {
      if (!database) throw new Error('useMigratedDatabase: read .database inside a test or hook');
      return database;
    },
  };
}
