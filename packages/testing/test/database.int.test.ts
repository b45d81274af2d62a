import { createEmptyTestDatabase, dropLeftoverTestDatabases, withPostgresAdmin } from '@shop/testing';
import { describe, expect, it } from 'vitest';

describe('dropLeftoverTestDatabases', () => {
  it('drops old test databases and templates, and keeps the ones in use', async () => {
    const day = Math.floor(Date.now() / 86_400_000);
    const leftovers = [
      `shoptest_${Date.now() - 3 * 60 * 60 * 1000}_dead`,
      `shoptpl_${day - 5}_0123456789abcdef`,
      `shoptpl_${day - 5}_0123456789abcdef_building`,
    ];
    await withPostgresAdmin(async (client) => {
      for (const name of leftovers) await client.query(`CREATE DATABASE "${name}"`);
    });
    const live = await createEmptyTestDatabase();

    await dropLeftoverTestDatabases();

    const names = await withPostgresAdmin(async (client) =>
      (await client.query<{ datname: string }>('SELECT datname FROM pg_database')).rows.map((r) => r.datname),
    );
    for (const name of leftovers) expect(names).not.toContain(name);
    expect(names).toContain(live.name);
    await live.drop();
  });
});
