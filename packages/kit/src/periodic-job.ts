import type { Logger } from './logging';

export interface PeriodicJobOptions {
  /** Shown in logs. */
  name: string;
  /** Pause between runs once a run found no more work. */
  intervalMs: number;
  /** Up to this much is added to each pause at random, so instances started together do not run in step. */
  jitterMs?: number;
  /** One round of work; may return how many items it handled (see `batchSize`). */
  // biome-ignore lint/suspicious/noConfusingVoidType: lets a plain `async () => { … }` be the work.
  run: () => Promise<number | void>;
  /** A run that handled at least this many items probably left more: the next run starts at once. */
  batchSize?: number;
  /**
   * Runs `work` only where this instance may run the job, resolving whether it ran (false: another instance
   * holds the job; this one tries again after the interval). E.g. `pgAdvisoryLock(pool, 'my-job')`.
   */
  lock?: (work: () => Promise<void>) => Promise<boolean>;
  /** Pause after a failed run: `initialMs`, doubled per failure in a row, at most `maxMs`. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Run once as soon as started (the default), or wait one interval first. */
  runOnStart?: boolean;
  logger: Logger;
}

type State = 'new' | 'running' | 'stopping' | 'stopped';

/**
 * Runs `run` again and again: after a pause of `intervalMs` when it is idle, at once when it returned a
 * full batch or `trigger()` was called, after a growing pause when it failed. `stop()` is prompt: it cuts
 * the pause short and waits only for the run in progress. A stopped job cannot be started again.
 */
export class PeriodicJob {
  private state: State = 'new';
  private loop: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private triggered = false;
  private inBackoff = false;
  private failuresInRow = 0;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly logger: Logger;

  constructor(private readonly options: PeriodicJobOptions) {
    if (!(options.intervalMs > 0)) throw new Error(`job ${options.name}: intervalMs must be positive`);
    this.backoffInitialMs = options.backoff?.initialMs ?? Math.min(options.intervalMs, 1_000);
    // By default a failing job never waits longer than a normal interval.
    this.backoffMaxMs = Math.max(this.backoffInitialMs, options.backoff?.maxMs ?? options.intervalMs);
    this.logger = options.logger.child({ job: options.name });
  }

  /** Failed runs since the last successful one. */
  get failures(): number {
    return this.failuresInRow;
  }

  /** Started and not (being) stopped. */
  get running(): boolean {
    return this.state === 'running';
  }

  start(): void {
    if (this.state === 'running') return;
    if (this.state !== 'new') throw new Error(`job ${this.options.name} was stopped; make a new one`);
    this.state = 'running';
    this.loop = this.runLoop();
  }

  /**
   * Run now instead of after the pause; a run in progress is followed by another at once (it may have
   * missed what the caller just wrote). Ignored while backing off after a failure: that pause protects
   * whatever is failing.
   */
  trigger(): void {
    if (this.state !== 'running') return;
    this.triggered = true;
    if (!this.inBackoff) this.wakeUp?.();
  }

  /** Waits for the run in progress, if any; never for a pause. Safe to call more than once. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.state = 'stopping';
      this.wakeUp?.();
      await this.loop;
      this.state = 'stopped';
    })();
    return this.stopped;
  }

  private async runLoop(): Promise<void> {
    let pause = this.options.runOnStart === false ? this.intervalWithJitter() : 0;
    while (this.state === 'running') {
      await this.sleep(pause);
      if (this.state !== 'running') break;
      pause = await this.runOnce();
    }
  }

  /** One run; resolves the pause before the next. */
  private async runOnce(): Promise<number> {
    this.triggered = false;
    this.inBackoff = false;
    try {
      let handled: unknown;
      const work = async () => {
        handled = await this.options.run();
      };
      let ran = true;
      if (this.options.lock) ran = await this.options.lock(work);
      else await work();
      if (this.failuresInRow > 0) this.logger.info({ failures: this.failuresInRow }, 'job recovered');
      this.failuresInRow = 0;
      const fullBatch =
        ran && this.options.batchSize !== undefined && typeof handled === 'number'
          ? handled >= this.options.batchSize
          : false;
      return this.triggered || fullBatch ? 0 : this.intervalWithJitter();
    } catch (error) {
      this.failuresInRow++;
      const pause = Math.min(this.backoffMaxMs, this.backoffInitialMs * 2 ** (this.failuresInRow - 1));
      this.logger.warn({ err: error, failures: this.failuresInRow, retryInMs: pause }, 'job run failed');
      this.inBackoff = true;
      return pause;
    }
  }

  private intervalWithJitter(): number {
    return this.options.intervalMs + Math.round(Math.random() * (this.options.jitterMs ?? 0));
  }

  /** A pause that `stop()` (and `trigger()`, unless backing off) cuts short. Zero still yields to timers. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        if (this.wakeUp === done) this.wakeUp = undefined;
        resolve();
      };
      this.wakeUp = done;
      if (ms > 0) timer = setTimeout(done, ms);
      else setImmediate(done);
    });
  }
}
