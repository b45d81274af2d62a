import { setTimeout as sleep } from 'node:timers/promises';
import { advisoryLockKey, pgAdvisoryLock } from '@shop/events';
import { PeriodicJob } from '@shop/kit';
import { createEmptyTestDatabase, type TestDatabase, testLogger, waitFor } from '@shop/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('pgAdvisoryLock', () => {
  let db: TestDatabase;
  // Two pools: two subgraph instances as far as Postgres can tell.
  let instanceA: pg.Pool;
  let instanceB: pg.Pool;

  beforeAll(async () => {
    db = await createEmptyTestDatabase();
    instanceA = new pg.Pool({ connectionString: db.url, max: 2 });
    instanceB = new pg.Pool({ connectionString: db.url, max: 2 });
    await instanceA.query('CREATE TABLE marks (name TEXT NOT NULL)');
  });
  afterAll(async () => {
    await Promise.all([instanceA?.end(), instanceB?.end()]);
    await db?.drop();
  });

  it('runs work in one session at a time, without waiting, and commits its writes with it', async () => {
    const lockA = pgAdvisoryLock(instanceA, 'nightly-report');
    const lockB = pgAdvisoryLock(instanceB, 'nightly-report');
    let release: (() => void) | undefined;
    const holding = lockA(async (client) => {
      await client.query("INSERT INTO marks VALUES ('a')");
      await new Promise<void>((resolve) => (release = resolve));
    });
    await waitFor('A to hold the lock', () => release !== undefined);

    const started = Date.now();
    expect(await lockB(async () => expect.fail('B must not run'))).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await pgAdvisoryLock(instanceB, 'another-job')(async () => {})).toBe(true);
    expect((await instanceB.query('SELECT name FROM marks')).rows).toEqual([]); // not committed yet

    release?.();
    expect(await holding).toBe(true);
    expect((await instanceB.query('SELECT name FROM marks')).rows).toEqual([{ name: 'a' }]);
    expect(await lockB(async () => {})).toBe(true);
  });

  it('rolls back and frees the lock when the work throws', async () => {
    const lock = pgAdvisoryLock(instanceA, 'failing-job');
    await expect(
      lock(async (client) => {
        await client.query("INSERT INTO marks VALUES ('rolled back')");
        throw new Error('job failed');
      }),
    ).rejects.toThrow('job failed');
    expect((await instanceA.query("SELECT 1 FROM marks WHERE name = 'rolled back'")).rowCount).toBe(0);
    expect(await pgAdvisoryLock(instanceB, 'failing-job')(async () => {})).toBe(true);
  });

  it('takes numbers as they are and hashes names to stable 64-bit keys', () => {
    expect(advisoryLockKey(0x5eb0_0b0c)).toBe(String(0x5eb0_0b0c));
    expect(advisoryLockKey('outbox-purge')).toBe(advisoryLockKey('outbox-purge'));
    expect(advisoryLockKey('outbox-purge')).not.toBe(advisoryLockKey('outbox-relay'));
    expect(BigInt.asIntN(64, BigInt(advisoryLockKey('x')))).toBe(BigInt(advisoryLockKey('x')));
  });

  it('keeps a PeriodicJob on one instance at a time', async () => {
    let active = 0;
    let overlaps = 0;
    const ranOn: string[] = [];
    const jobs = [
      ['a', instanceA],
      ['b', instanceB],
    ].map(
      ([name, pool]) =>
        new PeriodicJob({
          name: `expire-reservations-${name}`,
          intervalMs: 5,
          lock: pgAdvisoryLock(pool as pg.Pool, 'expire-reservations'),
          run: async () => {
            active++;
            if (active > 1) overlaps++;
            ranOn.push(name as string);
            await sleep(10);
            active--;
          },
          logger: testLogger('pg-lock'),
        }),
    );
    for (const job of jobs) job.start();
    await waitFor('many runs', () => ranOn.length >= 30);
    await Promise.all(jobs.map((job) => job.stop()));
    expect(overlaps).toBe(0);
  });
});
