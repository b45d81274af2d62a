// `pnpm bench [scenario...] [--rounds N] [--seconds S] [--connections C] [--profile] [--record] [--list]`
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  type BenchOptions,
  type BenchScenario,
  barChart,
  describeMachine,
  formatTable,
  formatTargets,
  type ScenarioResult,
} from './harness';
import { checkoutScenario } from './scenarios/checkout';
import { gatewaysScenario } from './scenarios/gateways';
import { subscriptionsScenario } from './scenarios/subscriptions';

/** Every scenario, one line each, in the order a plain `pnpm bench` runs them. */
const scenarios: BenchScenario[] = [gatewaysScenario, subscriptionsScenario, checkoutScenario];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '20' },
    profile: { type: 'boolean', default: false },
    record: { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
  },
});

if (values.list) {
  for (const scenario of scenarios) console.log(`${scenario.name.padEnd(16)} ${scenario.description}`);
  process.exit(0);
}
const unknown = positionals.filter((name) => !scenarios.some((s) => s.name === name));
if (unknown.length > 0) {
  console.error(
    `unknown scenario(s): ${unknown.join(', ')}; known: ${scenarios.map((s) => s.name).join(', ')}`,
  );
  process.exit(2);
}
const chosen = positionals.length ? scenarios.filter((s) => positionals.includes(s.name)) : scenarios;
const options: BenchOptions = {
  rounds: Math.max(3, Number(values.rounds)),
  seconds: Number(values.seconds),
  connections: Number(values.connections),
  profile: values.profile,
  log: (message) => process.stderr.write(`${message}\n`),
};

const machine = describeMachine();
const startedAt = new Date().toISOString();
console.log(
  `machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.ramGb} GB RAM, Node ${machine.node}, ${machine.platform}, load ${machine.loadAverage}`,
);
console.log(
  `settings: ${options.rounds} rounds × ${options.seconds} s, ${options.connections} connections\n`,
);

const results: Record<string, ScenarioResult> = {};
let failed = false;
for (const scenario of chosen) {
  console.log(`== ${scenario.name}: ${scenario.description}`);
  try {
    const result = await scenario.run(options);
    results[scenario.name] = result;
    console.log(`\n${formatTable(result.rows)}\n`);
    if (result.targets.length) console.log(`${formatTargets(result.targets)}\n`);
  } catch (error) {
    failed = true;
    console.error(`${scenario.name} failed:`, error);
  }
}

const report = {
  startedAt,
  finishedAt: new Date().toISOString(),
  machine,
  settings: { rounds: options.rounds, seconds: options.seconds, connections: options.connections },
  scenarios: results,
};
const markdown = [
  `# pnpm bench: ${chosen.map((s) => s.name).join(', ')}`,
  '',
  `${startedAt} · ${machine.cpuModel}, ${machine.cores} cores, ${machine.ramGb} GB RAM, Node ${machine.node}, load average ${machine.loadAverage} at start · ${options.rounds} rounds × ${options.seconds} s, ${options.connections} connections, medians`,
  ...Object.entries(results).flatMap(([name, result]) => [
    '',
    `## ${name}`,
    '',
    formatTable(result.rows, true),
    '',
    ...(result.targets.length ? [formatTargets(result.targets, true), ''] : []),
    '```text',
    barChart(result.rows),
    '```',
    ...(result.versions
      ? [
          '',
          `Versions: ${Object.entries(result.versions)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}`,
        ]
      : []),
    ...(result.notes?.length ? ['', ...result.notes.map((note) => `- ${note}`)] : []),
  ]),
  '',
].join('\n');

// Every run is kept under runs/ (ignored by git); --record also writes the committed latest.json / latest.md.
const resultsDir = fileURLToPath(new URL('../results/', import.meta.url));
const stamp = startedAt.replaceAll(':', '-').replace(/\..*/, '');
mkdirSync(join(resultsDir, 'runs'), { recursive: true });
const base = join(resultsDir, 'runs', `${stamp}-${chosen.map((s) => s.name).join('+')}`);
writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(`${base}.md`, markdown);
console.log(`results: ${base}.json, ${base}.md`);
if (values.record && !failed) {
  writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(resultsDir, 'latest.md'), markdown);
  console.log(`recorded: ${join(resultsDir, 'latest.json')}, latest.md`);
}
process.exit(failed ? 1 : 0);
