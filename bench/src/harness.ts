import { cpus, loadavg, totalmem } from 'node:os';

/** The machine a run measured, written with every result (numbers from different machines do not compare). */
export interface Machine {
  cpuModel: string;
  cores: number;
  ramGb: number;
  node: string;
  platform: string;
  /** 1-minute load average when the run started: other work on the box makes numbers noisy. */
  loadAverage: number;
}

export function describeMachine(): Machine {
  const [first] = cpus();
  return {
    cpuModel: first?.model.trim() ?? 'unknown',
    cores: cpus().length,
    ramGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverage: Number((loadavg()[0] ?? 0).toFixed(2)),
  };
}

/** Settings every scenario is run with (from the command line). */
export interface BenchOptions {
  /** Measured rounds per subject; medians are reported (at least 3). */
  rounds: number;
  /** Seconds of load per round and subject. */
  seconds: number;
  /** Concurrent connections of the load generator. */
  connections: number;
  /** Write a V8 CPU profile of our gateway (`--cpu-prof`) into bench/results/profiles/. */
  profile: boolean;
  /** Progress lines go here (stderr), never into the result. */
  log: (message: string) => void;
}

/** One measured subject of a scenario (a gateway on one query, a subgraph hit directly, ...), medians of rounds. */
export interface BenchRow {
  /** What is compared within a group, e.g. a query in a mode: `real · products(first: 20)`. */
  group: string;
  /** What was measured, e.g. `ours`, `stock @apollo/gateway`, `subgraph direct`. */
  subject: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time (user + system) of the subject's own process per request, when it runs as its own process. */
  cpuMsPerRequest?: number;
  /** Resident memory of the subject's process at the end of its last round. */
  rssMb?: number;
  /** Non-2xx answers or connection errors during the timed rounds (must be 0). */
  errors: number;
  /** Every round's req/s, to show the spread behind the median. */
  rounds: number[];
}

/** A target of the issue checked against this run: met, or the measured gap. */
export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean;
}

export interface ScenarioResult {
  rows: BenchRow[];
  targets: TargetCheck[];
  /** Versions of what was compared (gateways, libraries), by name. */
  versions?: Record<string, string>;
  notes?: string[];
}

/**
 * One benchmark scenario: a module in bench/src/scenarios/ exporting a `BenchScenario`, listed once in
 * bench/src/index.ts. `run` starts what it needs, measures, stops everything it started (also on failure) and
 * returns rows; the harness prints, charts and saves them.
 */
export interface BenchScenario {
  /** The name `pnpm bench <name>` selects it by. */
  name: string;
  /** One line for `pnpm bench --list` and the results file. */
  description: string;
  run: (options: BenchOptions) => Promise<ScenarioResult>;
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** The p-th percentile (nearest rank) of an ascending list; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

const round = (value: number | undefined, digits: number) =>
  value === undefined || Number.isNaN(value) ? '' : value.toFixed(digits);

/** The rows as a plain-text table (console) or markdown table (README, results file). */
export function formatTable(rows: readonly BenchRow[], markdown = false): string {
  const header = ['group', 'subject', 'req/s', 'p50 ms', 'p99 ms', 'CPU ms/req', 'RSS MB', 'errors'];
  const body = rows.map((row) => [
    row.group,
    row.subject,
    round(row.requestsPerSecond, 0),
    round(row.p50Ms, 1),
    round(row.p99Ms, 1),
    round(row.cpuMsPerRequest, 2),
    round(row.rssMb, 0),
    String(row.errors),
  ]);
  if (markdown) {
    return [header, header.map((_, i) => (i < 2 ? '---' : '---:')), ...body]
      .map((cells) => `| ${cells.join(' | ')} |`)
      .join('\n');
  }
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((cells) => (cells[i] ?? '').length)));
  return [header, ...body]
    .map((cells) =>
      cells
        .map((cell, i) => (i < 2 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join('  '),
    )
    .join('\n');
}

export function formatTargets(targets: readonly TargetCheck[], markdown = false): string {
  if (markdown) {
    return [
      '| target | measured | |',
      '|---|---|---|',
      ...targets.map((t) => `| ${t.target} | ${t.measured} | ${t.met ? 'met' : 'NOT met'} |`),
    ].join('\n');
  }
  return targets.map((t) => `${t.met ? 'met    ' : 'NOT met'}  ${t.target}: ${t.measured}`).join('\n');
}

/** Requests/s of each subject as a text bar chart per group (renders in markdown as a code block). */
export function barChart(rows: readonly BenchRow[], width = 40): string {
  const lines: string[] = [];
  const groups = [...new Set(rows.map((row) => row.group))];
  const label = Math.max(...rows.map((row) => row.subject.length));
  for (const group of groups) {
    const inGroup = rows.filter((row) => row.group === group);
    const top = Math.max(...inGroup.map((row) => row.requestsPerSecond), 1);
    lines.push(group);
    for (const row of inGroup) {
      const bar = '█'.repeat(Math.max(1, Math.round((row.requestsPerSecond / top) * width)));
      lines.push(`  ${row.subject.padEnd(label)} ${bar} ${row.requestsPerSecond.toFixed(0)} req/s`);
    }
  }
  return lines.join('\n');
}
