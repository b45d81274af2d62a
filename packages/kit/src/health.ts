import type { Express } from 'express';

/** A readiness check throws (or rejects) when its dependency cannot serve. */
export type ReadinessCheck = () => Promise<unknown>;

export interface HealthState {
  draining: boolean;
}

const CHECK_TIMEOUT_MS = 2_000;

async function runCheck(check: ReadinessCheck): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), timeout]);
    return 'ok';
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `/health/live`: the process is alive (restart it if not). `/health/ready`: every dependency answers and the
 * process is not draining (send it traffic only then).
 */
export function mountHealthRoutes(
  app: Express,
  checks: Record<string, ReadinessCheck>,
  state: HealthState,
): void {
  app.get('/health/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/health/ready', async (_req, res) => {
    const names = Object.keys(checks);
    const results = await Promise.all(names.map((name) => runCheck(checks[name] as ReadinessCheck)));
    const detail = Object.fromEntries(names.map((name, i) => [name, results[i]]));
    const ready = !state.draining && results.every((result) => result === 'ok');
    res
      .status(ready ? 200 : 503)
      .json({ status: ready ? 'ok' : state.draining ? 'draining' : 'unavailable', checks: detail });
  });
}
