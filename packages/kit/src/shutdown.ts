import type { Logger } from './logging';

type Step = { name: string; run: () => Promise<unknown> };

/**
 * Ordered graceful shutdown: steps run in reverse order of registration (last started, first stopped),
 * each awaited, the whole bounded by a timeout so a stuck dependency cannot keep the process alive.
 */
export class Shutdown {
  private readonly steps: Step[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly timeoutMs = 10_000,
  ) {}

  register(name: string, run: () => Promise<unknown>): void {
    this.steps.push({ name, run });
  }

  /** Runs every step once, even when called again (SIGINT then SIGTERM). */
  run(reason: string): Promise<void> {
    this.running ??= this.runSteps(reason);
    return this.running;
  }

  private async runSteps(reason: string): Promise<void> {
    this.logger.info({ reason }, 'shutting down');
    const all = (async () => {
      for (const step of [...this.steps].reverse()) {
        try {
          await step.run();
          this.logger.debug({ step: step.name }, 'stopped');
        } catch (error) {
          this.logger.error({ err: error, step: step.name }, 'shutdown step failed');
        }
      }
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.timeoutMs);
    });
    const outcome = await Promise.race([all.then(() => 'done' as const), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') this.logger.warn({ timeoutMs: this.timeoutMs }, 'shutdown timed out');
  }

  /** SIGTERM/SIGINT start the shutdown; the process exits once it is done. */
  installSignalHandlers(): void {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        void this.run(signal).finally(() => process.exit(0));
      });
    }
  }
}
