import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from './logging';
import { PeriodicJob, type PeriodicJobOptions } from './periodic-job';

const logger = createLogger('periodic-job-test', 'silent');
const jobs: PeriodicJob[] = [];

function job(options: Omit<PeriodicJobOptions, 'name' | 'logger'> & { name?: string }): PeriodicJob {
  const created = new PeriodicJob({ name: 'test', logger, ...options });
  jobs.push(created);
  return created;
}

async function until(what: string, check: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

afterEach(async () => {
  await Promise.all(jobs.splice(0).map((j) => j.stop()));
});

describe('PeriodicJob', () => {
  it('runs at start, then once per interval', async () => {
    let runs = 0;
    job({ intervalMs: 40, run: async () => void runs++ }).start();
    await until('the first run', () => runs === 1, 20);
    await sleep(150);
    expect(runs).toBeGreaterThanOrEqual(3);
    expect(runs).toBeLessThanOrEqual(5);
  });

  it('waits one interval first when told not to run at start', async () => {
    let runs = 0;
    job({ intervalMs: 80, runOnStart: false, run: async () => void runs++ }).start();
    await sleep(40);
    expect(runs).toBe(0);
    await until('the first run', () => runs === 1);
  });

  it('runs again at once while runs return a full batch', async () => {
    const backlog = [10, 10, 10, 3];
    let runs = 0;
    job({ intervalMs: 60_000, batchSize: 10, run: async () => backlog[runs++] ?? 0 }).start();
    await until('the backlog drained', () => runs === 4);
    await sleep(50);
    expect(runs).toBe(4);
  });

  it('runs at once on trigger(), and again right after a run the trigger arrived during', async () => {
    let runs = 0;
    let release: (() => void) | undefined;
    const j = job({
      intervalMs: 60_000,
      run: async () => {
        runs++;
        if (runs === 2) await new Promise<void>((resolve) => (release = resolve));
      },
    });
    j.start();
    await until('the first run', () => runs === 1);
    j.trigger();
    await until('the triggered run', () => runs === 2);
    j.trigger(); // while run 2 is in progress
    release?.();
    await until('the run the second trigger asked for', () => runs === 3);
    await sleep(50);
    expect(runs).toBe(3);
  });

  it('backs off after failures, ignores triggers meanwhile, and resets once a run succeeds', async () => {
    const started: number[] = [];
    const j = job({
      intervalMs: 60_000,
      backoff: { initialMs: 40, maxMs: 160 },
      run: async () => {
        started.push(Date.now());
        if (started.length <= 3) throw new Error('dependency down');
      },
    });
    j.start();
    await until('the first failure', () => j.failures === 1);
    j.trigger();
    await sleep(10);
    expect(started).toHaveLength(1);
    await until('the fourth run', () => started.length === 4);
    const gaps = started.slice(1).map((at, i) => at - (started[i] ?? 0));
    expect(gaps[0]).toBeGreaterThanOrEqual(35);
    expect(gaps[1]).toBeGreaterThanOrEqual(75);
    expect(gaps[2]).toBeGreaterThanOrEqual(155);
    await until('the failure count to reset', () => j.failures === 0);
  });

  it('caps the backoff at the interval by default', async () => {
    let runs = 0;
    job({
      intervalMs: 30,
      backoff: { initialMs: 30 },
      run: async () => {
        runs++;
        throw new Error('always');
      },
    }).start();
    await sleep(200);
    // Without a cap the pauses would be 30, 60, 120 ms: at most 3 runs.
    expect(runs).toBeGreaterThanOrEqual(4);
  });

  it('stops promptly during a long pause, more than once, and cannot be started again', async () => {
    let runs = 0;
    const j = job({ intervalMs: 60_000, run: async () => void runs++ });
    j.start();
    await until('the first run', () => runs === 1);
    const before = Date.now();
    await Promise.all([j.stop(), j.stop()]);
    await j.stop();
    expect(Date.now() - before).toBeLessThan(100);
    expect(j.running).toBe(false);
    expect(() => j.start()).toThrow(/stopped/);
    j.trigger();
    await sleep(20);
    expect(runs).toBe(1);
  });

  it('waits for the run in progress when stopped, and starts no other', async () => {
    let finished = 0;
    let runs = 0;
    const j = job({
      intervalMs: 1,
      run: async () => {
        runs++;
        await sleep(100);
        finished++;
      },
    });
    j.start();
    await until('a run in progress', () => runs === 1);
    await j.stop();
    expect(finished).toBe(1);
    await sleep(30);
    expect(runs).toBe(1);
  });

  it('can be stopped before it was started', async () => {
    const j = job({ intervalMs: 10, run: async () => {} });
    await j.stop();
    expect(() => j.start()).toThrow(/stopped/);
  });

  it('runs only where the lock lets it, and never two at once across instances', async () => {
    let holder: string | undefined;
    let overlaps = 0;
    const ranBy: string[] = [];
    // An in-process stand-in for pgAdvisoryLock: try once, never wait.
    const lock = async (work: () => Promise<void>) => {
      if (holder !== undefined) return false;
      holder = 'taken';
      try {
        await work();
        return true;
      } finally {
        holder = undefined;
      }
    };
    let active = 0;
    for (const name of ['a', 'b', 'c']) {
      job({
        name,
        intervalMs: 5,
        lock,
        run: async () => {
          active++;
          if (active > 1) overlaps++;
          ranBy.push(name);
          await sleep(3);
          active--;
        },
      }).start();
    }
    await until('many runs', () => ranBy.length >= 20);
    expect(overlaps).toBe(0);
  });

  it('does not count a run another instance holds as a full batch', async () => {
    let calls = 0;
    job({
      intervalMs: 60_000,
      batchSize: 1,
      lock: async () => {
        calls++;
        return false;
      },
      run: async () => 1,
    }).start();
    await sleep(50);
    expect(calls).toBe(1);
  });

  it('counts a failing lock as a failed run', async () => {
    const j = job({
      intervalMs: 60_000,
      lock: async () => {
        throw new Error('database down');
      },
      run: async () => {},
    });
    j.start();
    await until('the failure', () => j.failures === 1);
  });
});
