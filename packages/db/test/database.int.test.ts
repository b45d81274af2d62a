import { afterEach, describe, expect, it } from 'vitest';
import { createPrismaAdapter, ensureDatabase, withDatabase } from '../src/index';
import { dropDatabase, query, scratchDatabaseUrl } from './scratch';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('ensureDatabase', () => {
  it('creates the database named in the URL once, even when called concurrently', async () => {
    const url = scratchDatabaseUrl();
    cleanups.push(() => dropDatabase(url));

    const created = await Promise.all([ensureDatabase(url), ensureDatabase(url), ensureDatabase(url)]);

    expect(created.filter(Boolean)).toHaveLength(1);
    expect(await ensureDatabase(url)).toBe(false);
    expect(await query(url, 'SELECT current_database() AS name')).toEqual([
      { name: new URL(url).pathname.slice(1) },
    ]);
  });
});

describe('createPrismaAdapter', () => {
  it('connects to the database of the URL', async () => {
    const url = withDatabase(scratchDatabaseUrl(), 'postgres');
    const adapter = await createPrismaAdapter(url).connect();
    try {
      const result = await adapter.queryRaw({
        sql: 'SELECT current_database() AS name',
        args: [],
        argTypes: [],
      });
      expect(result.rows).toEqual([['postgres']]);
    } finally {
      await adapter.dispose();
    }
  });

  it('has Postgres cancel a statement running past statementTimeoutMs, and the connection stays usable', async () => {
    const url = withDatabase(scratchDatabaseUrl(), 'postgres');
    const adapter = await createPrismaAdapter(url, { statementTimeoutMs: 200 }).connect();
    try {
      const started = performance.now();
      const slow = adapter.queryRaw({ sql: 'SELECT pg_sleep(30)', args: [], argTypes: [] });
      // 57014: query_canceled ("canceling statement due to statement timeout").
      await expect(slow).rejects.toMatchObject({ cause: { originalCode: '57014' } });
      console.log(`statement cancelled after ${Math.round(performance.now() - started)} ms (timeout 200 ms)`);
      const setting = await adapter.queryRaw({ sql: 'SHOW statement_timeout', args: [], argTypes: [] });
      expect(setting.rows).toEqual([['200ms']]);
    } finally {
      await adapter.dispose();
    }
  });
});
