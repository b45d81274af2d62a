import { createHash, randomUUID } from 'node:crypto';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventsMigrationsDir } from '../../events/src/migrations';
import {
  createLedgerClient,
  ledgerMigrations,
  ledgerMigrationsDir,
  Prisma,
} from '../../testing/fixture/index';
import { applyMigrations, ensureDatabase } from '../src/index';
import { copyMigrations, dropDatabase, query, removeDir, scratchDatabaseUrl } from './scratch';

const init = '20260101000000_init';
const eventsOutbox = '20260101000000_shop_events_outbox';
const eventsTraceContext = '20261126000000_outbox_trace_context';
const initSqlPath = (migrationsDir: string) => path.join(migrationsDir, init, 'migration.sql');

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function freshDatabase(): Promise<string> {
  const url = scratchDatabaseUrl();
  await ensureDatabase(url);
  cleanups.push(() => dropDatabase(url));
  return url;
}

async function migrationsCopy(extra: Record<string, string> = {}): Promise<string> {
  const dir = await copyMigrations(ledgerMigrationsDir, extra);
  cleanups.push(() => removeDir(dir));
  return dir;
}

interface MigrationRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

const migrationRows = (url: string) =>
  query<MigrationRow>(url, 'SELECT * FROM _prisma_migrations ORDER BY started_at, migration_name');

const tableExists = async (url: string, table: string) =>
  (await query<{ found: string | null }>(url, 'SELECT to_regclass($1)::text AS found', [table]))[0]?.found !==
  null;

describe('applyMigrations', () => {
  it('creates the ledger tables and records the migration exactly as Prisma does', async () => {
    const url = await freshDatabase();

    const result = await applyMigrations({ databaseUrl: url, migrationsDir: ledgerMigrationsDir });

    expect(result).toEqual({ applied: [init], alreadyApplied: [] });
    const tables = await query<{ table_name: string }>(
      url,
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    );
    expect(tables.map((t) => t.table_name)).toEqual(['_prisma_migrations', 'ledger_entries']);

    // The columns of the schema engine's own CREATE TABLE, in its order.
    const columns = await query(
      url,
      `SELECT column_name, data_type, character_maximum_length AS length, is_nullable, column_default
         FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(columns).toEqual([
      {
        column_name: 'id',
        data_type: 'character varying',
        length: 36,
        is_nullable: 'NO',
        column_default: null,
      },
      {
        column_name: 'checksum',
        data_type: 'character varying',
        length: 64,
        is_nullable: 'NO',
        column_default: null,
      },
      {
        column_name: 'finished_at',
        data_type: 'timestamp with time zone',
        length: null,
        is_nullable: 'YES',
        column_default: null,
      },
      {
        column_name: 'migration_name',
        data_type: 'character varying',
        length: 255,
        is_nullable: 'NO',
        column_default: null,
      },
      { column_name: 'logs', data_type: 'text', length: null, is_nullable: 'YES', column_default: null },
      {
        column_name: 'rolled_back_at',
        data_type: 'timestamp with time zone',
        length: null,
        is_nullable: 'YES',
        column_default: null,
      },
      {
        column_name: 'started_at',
        data_type: 'timestamp with time zone',
        length: null,
        is_nullable: 'NO',
        column_default: 'now()',
      },
      {
        column_name: 'applied_steps_count',
        data_type: 'integer',
        length: null,
        is_nullable: 'NO',
        column_default: '0',
      },
    ]);
    const primaryKey = await query<{ column_name: string }>(
      url,
      `SELECT kcu.column_name FROM information_schema.table_constraints tc
         JOIN information_schema.key_column_usage kcu USING (constraint_schema, constraint_name)
        WHERE tc.table_name = '_prisma_migrations' AND tc.constraint_type = 'PRIMARY KEY'`,
    );
    expect(primaryKey).toEqual([{ column_name: 'id' }]);

    const [row, ...others] = await migrationRows(url);
    expect(others).toEqual([]);
    const fileSha256 = createHash('sha256')
      .update(await readFile(initSqlPath(ledgerMigrationsDir)))
      .digest('hex');
    expect(row).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      checksum: fileSha256,
      finished_at: expect.any(Date),
      migration_name: init,
      logs: null,
      rolled_back_at: null,
      started_at: expect.any(Date),
      applied_steps_count: 1,
    });
    expect(row?.finished_at?.getTime()).toBeGreaterThanOrEqual(row?.started_at.getTime() ?? Number.NaN);
  });

  it('applies several folders as one history, in migration-name order', async () => {
    const url = await freshDatabase();
    const later = '20260102000000_later';
    const own = await migrationsCopy({ [later]: 'ALTER TABLE "outbox_events" ADD COLUMN "memo" TEXT;\n' });

    // The later migration needs the events folder's table: only the merged order makes it work.
    const result = await applyMigrations({ databaseUrl: url, migrationsDir: [own, eventsMigrationsDir] });

    const all = [init, eventsOutbox, later, eventsTraceContext];
    expect(result).toEqual({ applied: all, alreadyApplied: [] });
    expect((await migrationRows(url)).map((r) => r.migration_name)).toEqual(all);
    expect(await tableExists(url, 'outbox_events')).toBe(true);
    expect(await applyMigrations({ databaseUrl: url, migrationsDir: [eventsMigrationsDir, own] })).toEqual({
      applied: [],
      alreadyApplied: all,
    });
  });

  it('refuses two folders holding a migration of the same name, applying nothing', async () => {
    const url = await freshDatabase();
    const first = await migrationsCopy();
    const second = await migrationsCopy();

    await expect(applyMigrations({ databaseUrl: url, migrationsDir: [first, second] })).rejects.toThrow(
      `migration ${init} is in both ${first} and ${second}`,
    );
    expect(await tableExists(url, '_prisma_migrations')).toBe(false);
  });

  it('does nothing on a second run', async () => {
    const url = await freshDatabase();
    await applyMigrations({ databaseUrl: url, migrationsDir: ledgerMigrationsDir });
    const before = await migrationRows(url);

    const second = await applyMigrations({ databaseUrl: url, migrationsDir: ledgerMigrationsDir });

    expect(second).toEqual({ applied: [], alreadyApplied: [init] });
    expect(await migrationRows(url)).toEqual(before);
  });

  it('applies each migration once when runners start at the same time', async () => {
    const url = await freshDatabase();
    // A slow second migration keeps the first runner inside its run while the others are waiting.
    const slow = '20260102000000_slow';
    const dir = await migrationsCopy({
      [slow]: 'SELECT pg_sleep(0.3);\nCREATE TABLE "slow_marker" ("id" INTEGER NOT NULL);\n',
    });

    const results = await Promise.all(
      [1, 2, 3].map(() => applyMigrations({ databaseUrl: url, migrationsDir: dir })),
    );

    expect(results.flatMap((r) => r.applied).sort()).toEqual([init, slow]);
    for (const result of results) expect([...result.applied, ...result.alreadyApplied]).toEqual([init, slow]);
    expect((await migrationRows(url)).map((r) => r.migration_name)).toEqual([init, slow]);
  });

  it('refuses a migration that was modified after it was applied', async () => {
    const url = await freshDatabase();
    const dir = await migrationsCopy();
    await applyMigrations({ databaseUrl: url, migrationsDir: dir });

    await appendFile(initSqlPath(dir), '\nALTER TABLE "ledger_entries" ADD COLUMN "memo" TEXT;\n');

    await expect(applyMigrations({ databaseUrl: url, migrationsDir: dir })).rejects.toThrow(
      `migration ${init} was modified after it was applied`,
    );
  });

  it('accepts a migration whose line endings a checkout changed, as Prisma does', async () => {
    const url = await freshDatabase();
    const dir = await migrationsCopy();
    await applyMigrations({ databaseUrl: url, migrationsDir: dir });

    const sql = await readFile(initSqlPath(dir), 'utf8');
    await writeFile(initSqlPath(dir), sql.replaceAll('\n', '\r\n'));

    expect(await applyMigrations({ databaseUrl: url, migrationsDir: dir })).toEqual({
      applied: [],
      alreadyApplied: [init],
    });
  });

  it('leaves nothing of a failing migration behind, and applies it once it is fixed', async () => {
    const url = await freshDatabase();
    const broken = '20260103000000_broken';
    const dir = await migrationsCopy({
      [broken]:
        'CREATE TABLE "half_done" ("id" INTEGER NOT NULL);\nINSERT INTO "no_such_table" VALUES (1);\n',
    });

    await expect(applyMigrations({ databaseUrl: url, migrationsDir: dir })).rejects.toThrow(
      new RegExp(`migration ${broken} failed.*no_such_table`),
    );

    expect(await tableExists(url, 'half_done')).toBe(false);
    expect((await migrationRows(url)).map((r) => r.migration_name)).toEqual([init]);

    await writeFile(
      path.join(dir, broken, 'migration.sql'),
      'CREATE TABLE "half_done" ("id" INTEGER NOT NULL);\n',
    );
    expect(await applyMigrations({ databaseUrl: url, migrationsDir: dir })).toEqual({
      applied: [broken],
      alreadyApplied: [init],
    });
    expect(await tableExists(url, 'half_done')).toBe(true);
  });

  it('records a migration in the same transaction as its SQL', async () => {
    const url = await freshDatabase();
    const unrecordable = '20260104000000_unrecordable';
    // The one way to make the recording fail after the script itself succeeded: the script forbids its row.
    const dir = await migrationsCopy({
      [unrecordable]:
        'CREATE TABLE "recorded_together" ("id" INTEGER NOT NULL);\n' +
        `ALTER TABLE _prisma_migrations ADD CONSTRAINT "refuse_row" CHECK (migration_name <> '${unrecordable}');\n`,
    });

    await expect(applyMigrations({ databaseUrl: url, migrationsDir: dir })).rejects.toThrow(
      `migration ${unrecordable} failed`,
    );

    expect(await tableExists(url, 'recorded_together')).toBe(false);
    expect((await migrationRows(url)).map((r) => r.migration_name)).toEqual([init]);
  });

  it('stops at a migration Prisma recorded as failed until it is marked rolled back', async () => {
    const url = await freshDatabase();
    const empty = await migrationsCopy();
    await removeDir(path.join(empty, init));
    await applyMigrations({ databaseUrl: url, migrationsDir: empty });
    // The row `prisma migrate deploy` leaves when a script fails.
    await query(
      url,
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, logs, applied_steps_count)
       VALUES ($1, 'abc', $2, 'relation "x" does not exist', 0)`,
      [randomUUID(), init],
    );

    const failure = applyMigrations({ databaseUrl: url, migrationsDir: ledgerMigrationsDir });
    await expect(failure).rejects.toThrow(/^P3009: migrate found failed migrations/);
    await expect(failure).rejects.toThrow(`The \`${init}\` migration started at`);
    expect(await tableExists(url, 'ledger_entries')).toBe(false);

    await query(url, 'UPDATE _prisma_migrations SET rolled_back_at = now()');
    expect(await applyMigrations({ databaseUrl: url, migrationsDir: ledgerMigrationsDir })).toEqual({
      applied: [init],
      alreadyApplied: [],
    });
    const rows = await migrationRows(url);
    expect(rows.map((r) => [r.migration_name, r.rolled_back_at === null, r.finished_at === null])).toEqual([
      [init, false, true],
      [init, true, false],
    ]);
  });
});

describe('the ledger schema.prisma and its migration SQL (with the events tables)', () => {
  async function migratedLedger() {
    const url = await freshDatabase();
    await applyMigrations({ databaseUrl: url, migrationsDir: ledgerMigrations });
    const client = createLedgerClient(url);
    cleanups.push(() => client.$disconnect());
    return client;
  }

  it('agree on LedgerEntry: generated uuid, exact Decimal, nullable note, default timestamp', async () => {
    const client = await migratedLedger();
    const before = new Date();

    const withNote = await client.ledgerEntry.create({
      data: { account: 'acc-1', amount: new Prisma.Decimal('9999999999.99'), note: 'opening balance' },
    });
    const withoutNote = await client.ledgerEntry.create({ data: { account: 'acc-1', amount: '-0.01' } });

    expect(await client.ledgerEntry.findUniqueOrThrow({ where: { id: withNote.id } })).toEqual(withNote);
    const read = await client.ledgerEntry.findUniqueOrThrow({ where: { id: withoutNote.id } });
    expect(read.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(read.amount.toString()).toBe('-0.01');
    expect(withNote.amount.toFixed(2)).toBe('9999999999.99');
    expect(read.note).toBeNull();
    expect(read.createdAt.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1_000);
    const total = await client.ledgerEntry.aggregate({ where: { account: 'acc-1' }, _sum: { amount: true } });
    expect(total._sum.amount?.toString()).toBe('9999999999.98');
  });

  it('agree on OutboxEvent: BigInt sequence, Json envelope, nullable columns, index order', async () => {
    const client = await migratedLedger();
    const envelope = {
      id: randomUUID(),
      type: 'ledger.posted',
      version: 1,
      data: { amount: '12.50', tags: ['a', 'b'], nested: { ok: true, nothing: null } },
    };

    const first = await client.outboxEvent.create({
      data: { id: randomUUID(), topic: 'ledger.posted', key: 'acc-1', envelope },
    });
    const second = await client.outboxEvent.create({
      data: { id: randomUUID(), topic: 'ledger.posted', key: 'acc-2', envelope: [1, 'two'] },
    });

    expect(typeof first.sequence).toBe('bigint');
    expect(second.sequence).toBeGreaterThan(first.sequence);
    expect(first).toMatchObject({ envelope, attempts: 0, publishedAt: null, lastError: null });
    expect(first.createdAt).toBeInstanceOf(Date);

    const publishedAt = new Date('2026-01-02T03:04:05.678Z');
    await client.outboxEvent.update({
      where: { id: first.id },
      data: { publishedAt, attempts: { increment: 2 }, lastError: 'broker unavailable' },
    });
    expect(await client.outboxEvent.findUniqueOrThrow({ where: { id: first.id } })).toEqual({
      ...first,
      publishedAt,
      attempts: 2,
      lastError: 'broker unavailable',
    });

    // The relay's query: unpublished events in sequence order.
    const pending = await client.outboxEvent.findMany({
      where: { publishedAt: null },
      orderBy: { sequence: 'asc' },
    });
    expect(pending).toEqual([second]);
  });

  it('agree on ProcessedEvent: composite id, default timestamp, duplicates refused', async () => {
    const client = await migratedLedger();
    const eventId = randomUUID();

    const processed = await client.processedEvent.create({
      data: { consumerGroup: 'ledger-projector', eventId },
    });
    await client.processedEvent.create({ data: { consumerGroup: 'ledger-mailer', eventId } });

    expect(processed.processedAt).toBeInstanceOf(Date);
    expect(
      await client.processedEvent.findUniqueOrThrow({
        where: { consumerGroup_eventId: { consumerGroup: 'ledger-projector', eventId } },
      }),
    ).toEqual(processed);
    // What an idempotent consumer relies on: the same event twice in one group is a unique violation.
    await expect(
      client.processedEvent.create({ data: { consumerGroup: 'ledger-projector', eventId } }),
    ).rejects.toMatchObject({ code: 'P2002' });
    expect(await client.processedEvent.count()).toBe(2);
  });
});
