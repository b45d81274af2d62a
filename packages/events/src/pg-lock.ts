import { createHash } from 'node:crypto';
import type pg from 'pg';

/** Runs work while holding the lock; resolves false (running nothing) when another session holds it. */
export type PgAdvisoryLock = (work: (client: pg.PoolClient) => Promise<unknown>) => Promise<boolean>;

/** A 64-bit advisory-lock key: a number as is, a name hashed (stable across processes and versions). */
export function advisoryLockKey(key: number | string): string {
  if (typeof key === 'number') {
    if (!Number.isSafeInteger(key)) throw new Error(`advisory lock key ${key} is not a safe integer`);
    return String(key);
  }
  return createHash('sha256').update(key).digest().readBigInt64BE(0).toString();
}

/**
 * "Only one instance at a time" for a PeriodicJob (its `lock` option) or any work: a transaction on one pool
 * connection takes `pg_try_advisory_xact_lock(key)` without waiting; `work` runs only when it got the lock
 * and may use that connection (the transaction commits when work resolves, rolls back when it throws).
 * The lock ends with the transaction, so a crashed holder never blocks the others.
 */
export function pgAdvisoryLock(pool: pg.Pool, key: number | string): PgAdvisoryLock {
  const lockKey = advisoryLockKey(key);
  return async (work) => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ locked: boolean }>({
        name: 'shop_try_advisory_xact_lock',
        text: 'SELECT pg_try_advisory_xact_lock($1::bigint) AS locked',
        values: [lockKey],
      });
      if (!rows[0]?.locked) {
        await client.query('ROLLBACK');
        return false;
      }
      await work(client);
      await client.query('COMMIT');
      return true;
    } catch (error) {
      await client.query('ROLLBACK').catch((failure: unknown) => {
        broken = failure as Error;
      });
      throw error;
    } finally {
      // A connection that could not even roll back is dropped instead of going back to the pool.
      client.release(broken);
    }
  };
}
