import { afterEach, describe, expect, it } from 'vitest';
import { createPrismaAdapter, ensureDatabase, preparedStatementNames, withDatabase } from '../src/index';
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

  it('prepares each statement once per connection (named by its SQL text), unless preparedStatements is false', async () => {
    const url = withDatabase(scratchDatabaseUrl(), 'postgres');
    const sql = 'SELECT $1::int + 1 AS next';
    const preparedOnItsConnection = async (
      adapter: Awaited<ReturnType<ReturnType<typeof createPrismaAdapter>['connect']>>,
    ) => {
      // One query at a time: the pool hands the same idle connection back each time.
      for (const n of [1, 2, 3]) {
        const result = await adapter.queryRaw({
          sql,
          args: [n],
          argTypes: [{ scalarType: 'int', arity: 'scalar' }],
        });
        expect(result.rows).toEqual([[n + 1]]);
      }
      const prepared = await adapter.queryRaw({
        sql: 'SELECT count(*)::int FROM pg_prepared_statements WHERE statement = $1',
        args: [sql],
        argTypes: [{ scalarType: 'string', arity: 'scalar' }],
      });
      return prepared.rows[0]?.[0];
    };
    const named = await createPrismaAdapter(url).connect();
    try {
      expect(await preparedOnItsConnection(named)).toBe(1);
    } finally {
      await named.dispose();
    }
    const unnamed = await createPrismaAdapter(url, { preparedStatements: false }).connect();
    try {
      expect(await preparedOnItsConnection(unnamed)).toBe(0);
    } finally {
      await unnamed.dispose();
    }
  });
});

describe('preparedStatementNames', () => {
  it('gives one SQL text one name, another text another, and none past its limit', () => {
    const nameOf = preparedStatementNames(2);
    const a = nameOf({ sql: 'SELECT 1' });
    expect(a).toMatch(/^shop_/);
    expect(nameOf({ sql: 'SELECT 1' })).toBe(a);
    expect(preparedStatementNames()({ sql: 'SELECT 1' })).toBe(a);
    const b = nameOf({ sql: 'SELECT 2' });
    expect(b).not.toBe(a);
    expect(nameOf({ sql: 'SELECT 3' })).toBe('');
    expect(nameOf({ sql: 'SELECT 2' })).toBe(b);
  });
});
