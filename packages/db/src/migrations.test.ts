import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checksumMatches, migrationChecksum, readMigrations } from './migrations';

describe('migration checksums', () => {
  it('is the zero-padded lowercase hex SHA-256 Prisma records', () => {
    // The vector of Prisma's own checksum test.
    expect(migrationChecksum('hello')).toBe(
      '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
    );
  });

  it('matches across line-ending conversions, like Prisma', () => {
    const unix = 'CREATE TABLE "a" ("id" INTEGER);\nCREATE TABLE "b" ("id" INTEGER);\n';
    const windows = unix.replaceAll('\n', '\r\n');
    expect(checksumMatches(unix, migrationChecksum(windows))).toBe(true);
    expect(checksumMatches(windows, migrationChecksum(unix))).toBe(true);
  });

  it('matches the unpadded checksums old Prisma versions wrote', () => {
    const sql = 'SELECT 1;\n';
    const unpadded = [...createHash('sha256').update(sql).digest()].map((byte) => byte.toString(16)).join('');
    expect(unpadded.length).toBeLessThan(64);
    expect(checksumMatches(sql, unpadded)).toBe(true);
  });

  it('does not match another script', () => {
    expect(checksumMatches('abc', migrationChecksum('abcd'))).toBe(false);
    expect(checksumMatches('abc\n', migrationChecksum('abc'))).toBe(false);
  });
});

describe('readMigrations', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  async function migrationsFolder(files: Record<string, string>): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), 'shop-migrations-'));
    dirs.push(dir);
    for (const [file, content] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await writeFile(path.join(dir, file), content);
    }
    return dir;
  }

  it('lists migration folders by name with their checksums, skipping other files', async () => {
    const folder = await migrationsFolder({
      'migration_lock.toml': 'provider = "postgresql"\n',
      '20260201000000_second/migration.sql': 'SELECT 2;\n',
      '20260101000000_first/migration.sql': 'SELECT 1;\n',
    });

    expect(await readMigrations(folder)).toEqual([
      { name: '20260101000000_first', sql: 'SELECT 1;\n', checksum: migrationChecksum('SELECT 1;\n') },
      { name: '20260201000000_second', sql: 'SELECT 2;\n', checksum: migrationChecksum('SELECT 2;\n') },
    ]);
  });

  it('names a migration folder without migration.sql', async () => {
    const folder = await migrationsFolder({ '20260101000000_empty/README.md': 'nothing here' });
    await expect(readMigrations(folder)).rejects.toThrow(
      'migration 20260101000000_empty has no readable migration.sql',
    );
  });

  it('refuses migrations written for another database', async () => {
    const folder = await migrationsFolder({ 'migration_lock.toml': 'provider = "mysql"\n' });
    await expect(readMigrations(folder)).rejects.toThrow('is for provider "mysql", not "postgresql"');
  });

  it('merges several folders by migration name', async () => {
    const events = await migrationsFolder({
      'migration_lock.toml': 'provider = "postgresql"\n',
      '20260101000000_events/migration.sql': 'SELECT 1;\n',
      '20260301000000_events_more/migration.sql': 'SELECT 3;\n',
    });
    const own = await migrationsFolder({ '20260201000000_init/migration.sql': 'SELECT 2;\n' });

    const merged = await readMigrations([own, events]);

    expect(merged.map((m) => m.name)).toEqual([
      '20260101000000_events',
      '20260201000000_init',
      '20260301000000_events_more',
    ]);
    expect(await readMigrations([events, own])).toEqual(merged);
    expect(await readMigrations([])).toEqual([]);
  });

  it('refuses the same migration name in two folders, naming both', async () => {
    const first = await migrationsFolder({ '20260101000000_init/migration.sql': 'SELECT 1;\n' });
    const second = await migrationsFolder({ '20260101000000_init/migration.sql': 'SELECT 1;\n' });
    await expect(readMigrations([first, second])).rejects.toThrow(
      `migration 20260101000000_init is in both ${first} and ${second}`,
    );
  });

  it('checks the provider of every folder it merges', async () => {
    const good = await migrationsFolder({ '20260101000000_init/migration.sql': 'SELECT 1;\n' });
    const mysql = await migrationsFolder({ 'migration_lock.toml': 'provider = "mysql"\n' });
    await expect(readMigrations([good, mysql])).rejects.toThrow('is for provider "mysql"');
  });
});
