import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from '@shop/testing';

/** A server the bench started as its own process, so its CPU time and memory can be read from /proc. */
export interface BenchProcess {
  name: string;
  pid: number;
  /** What the process printed as `{"ready": {...}}`. */
  ready: Record<string, unknown>;
  stop: () => Promise<void>;
}

const READY_TIMEOUT_MS = 180_000;

/**
 * Runs a TypeScript entry (through tsx's loader, in a plain `node` process whose pid is the server's own) and
 * waits for the `{"ready": ...}` line it prints on stdout, or for an HTTP readiness probe when `probe` is given.
 */
export async function startProcess(
  name: string,
  entry: string,
  env: Record<string, string>,
  options: { nodeArgs?: string[]; probe?: () => Promise<boolean>; cwd?: string } = {},
): Promise<BenchProcess> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', entry], {
    env: { ...process.env, ...env },
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr.push(chunk.toString());
    if (stderr.length > 50) stderr.shift();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const ready = await Promise.race([
      (options.probe ? waitForProbe(options.probe) : readyLine(child)).catch(async (error: unknown) => {
        // A child whose stdout closed has exited: report its stderr, not the closed pipe.
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000))]);
        throw new Error(
          `${name} failed before it was ready (${String(error)}):\n${stderr.join('').slice(-3000)}`,
        );
      }),
      exited.then((code) => {
        throw new Error(`${name} exited (${code}) before it was ready:\n${stderr.join('').slice(-3000)}`);
      }),
      new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error(`${name} not ready within ${READY_TIMEOUT_MS} ms`)),
          READY_TIMEOUT_MS,
        ).unref(),
      ),
    ]);
    return { name, pid: child.pid as number, ready, stop: () => stopChild(child, exited) };
  } catch (error) {
    await stopChild(child, exited);
    throw error;
  }
}

async function readyLine(child: ChildProcess): Promise<Record<string, unknown>> {
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  for await (const line of lines) {
    if (!line.startsWith('{"ready"')) continue;
    // Keep draining stdout so a chatty child never blocks on a full pipe.
    child.stdout?.resume();
    return (JSON.parse(line) as { ready: Record<string, unknown> }).ready;
  }
  throw new Error('stdout closed before the ready line');
}

async function waitForProbe(probe: () => Promise<boolean>): Promise<Record<string, unknown>> {
  for (;;) {
    if (await probe().catch(() => false)) return {};
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** Clock ticks per second of /proc's CPU times. */
export const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat. */
export function cpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at state; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
}

/** Resident memory of a process, in MB, from /proc/<pid>/status. */
export function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Our gateway as deployed (`gateway/src/index.ts`, NODE_ENV=production, LOG_LEVEL=error) as its own process on
 * a free port, ready when /health/live answers. The per-client rate limit is off (one load generator is one
 * client); `env` adds or overrides settings; `profileDir` writes a V8 CPU profile there on exit.
 */
export async function startOurGateway(options: {
  supergraphPath: string;
  publicKeyPem: string;
  env?: Record<string, string>;
  profileDir?: string | undefined;
}): Promise<BenchProcess & { url: string }> {
  const port = await freePort();
  if (options.profileDir) mkdirSync(options.profileDir, { recursive: true });
  const gateway = await startProcess(
    'ours',
    join(repositoryRoot, 'gateway/src/index.ts'),
    {
      NODE_ENV: 'production',
      LOG_LEVEL: 'error',
      HOST: '127.0.0.1',
      PORT: String(port),
      SUPERGRAPH_PATH: options.supergraphPath,
      JWT_PUBLIC_KEY: options.publicKeyPem,
      CLIENT_RATE_LIMIT: '0',
      ...options.env,
    },
    {
      probe: async () => (await fetch(`http://127.0.0.1:${port}/health/live`)).ok,
      nodeArgs: options.profileDir ? ['--cpu-prof', '--cpu-prof-dir', options.profileDir] : [],
    },
  );
  const url = `http://127.0.0.1:${port}/graphql`;
  return { ...gateway, ready: { ...gateway.ready, url }, url };
}

export { freePort };
