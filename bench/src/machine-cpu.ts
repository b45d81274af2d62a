import { readdirSync, readFileSync } from 'node:fs';
import { clockTicks } from './processes';

/**
 * CPU time of every part that shares this machine during a bench, read from /proc: the processes the bench
 * started (by pid), and the ones it did not start: Postgres (every backend, and through the postmaster's
 * children time the backends that exited in between), Kafka's JVM, Redis, and the bench process itself
 * (the load generator). Lets a scenario say what one unit of work costs the whole machine, and so what rate
 * the machine's cores could reach at that cost, not only what our own processes used.
 */
export interface MachinePart {
  name: string;
  pid: number;
}

/** pid → [part, own CPU ms, reaped children's CPU ms] */
export type MachineCpuSnapshot = Map<number, [string, number, number]>;

/** Which shared service a process belongs to, from its command name and line; undefined for the rest. */
function serviceOf(pid: number): string | undefined {
  let comm: string;
  try {
    comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
  if (comm === 'postgres' || comm.startsWith('postgres:')) return 'Postgres';
  if (comm.startsWith('redis-server')) return 'Redis';
  if (comm === 'java') {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kafka.Kafka')) return 'Kafka';
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function cpuOf(pid: number): [number, number] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime (fields 14, 15), then cutime, cstime (16, 17): time of waited-for children.
    const own = ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
    const children = ((Number(fields[13]) + Number(fields[14])) * 1000) / clockTicks;
    return [own, children];
  } catch {
    return undefined;
  }
}

export function machineCpuSnapshot(parts: MachinePart[]): MachineCpuSnapshot {
  const snapshot: MachineCpuSnapshot = new Map();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const service = serviceOf(pid);
    const cpu = service ? cpuOf(pid) : undefined;
    if (service && cpu) snapshot.set(pid, [service, ...cpu]);
  }
  for (const part of parts) {
    const cpu = cpuOf(part.pid);
    if (cpu) snapshot.set(part.pid, [part.name, ...cpu]);
  }
  const self = process.cpuUsage();
  snapshot.set(process.pid, ['load generator (bench)', (self.user + self.system) / 1000, 0]);
  return snapshot;
}

/**
 * CPU ms each part used between two snapshots, largest first. A process that started in between counts
 * whole; one that ended in between is counted through its parent's children time once reaped (Postgres'
 * backends), otherwise its last interval is lost (none of the bench's own processes end mid-run).
 */
export function machineCpuBetween(before: MachineCpuSnapshot, after: MachineCpuSnapshot): [string, number][] {
  const byPart = new Map<string, number>();
  for (const [pid, [part, own, children]] of after) {
    const earlier = before.get(pid);
    const used = own - (earlier?.[1] ?? 0) + (earlier ? children - earlier[2] : 0);
    byPart.set(part, (byPart.get(part) ?? 0) + Math.max(0, used));
  }
  return [...byPart].sort((a, b) => b[1] - a[1]);
}
