#!/usr/bin/env node
// The two commands a newcomer runs on a fresh machine: `npm test` and `npm start` (pnpm works too).
// Plain Node with no dependencies, because it runs before anything is installed: it brings pnpm and the
// system packages (Java, Maven, Redis, PostgreSQL) when they are missing, installs the workspace, then
// hands over to the project's own scripts.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const command = process.argv[2];
const isCI = process.env.CI === 'true' || process.env.CI === '1';

function step(title) {
  console.log(`\n▶ ${title}`);
}

function has(binary) {
  return spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
}

function run(binary, args, { allowFailure = false, env } = {}) {
  const result = spawnSync(binary, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.status !== 0 && !allowFailure) {
    console.error(`✖ ${binary} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
  return result.status ?? 1;
}

// Debian packages behind the tools infra:up needs when it has to start a service itself.
const systemPackages = [
  { binary: 'java', pkg: 'openjdk-17-jre-headless' },
  { binary: 'mvn', pkg: 'maven' },
  { binary: 'redis-server', pkg: 'redis-server' },
  { binary: 'pg_ctlcluster', pkg: 'postgresql' },
];

function ensureSystemPackages() {
  const missing = systemPackages.filter(({ binary }) => !has(binary));
  if (missing.length === 0) return;
  const names = missing.map(({ pkg }) => pkg);
  if (process.getuid?.() !== 0 || !has('apt-get')) {
    console.warn(
      `! missing ${missing.map((m) => m.binary).join(', ')}; install ${names.join(' ')} (or point the env at running services)`,
    );
    return;
  }
  step(`installing ${names.join(' ')} with apt-get`);
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...names], {
    env: { DEBIAN_FRONTEND: 'noninteractive' },
  });
}

function ensurePnpm() {
  const wanted = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split('@')[1];
  const current = has('pnpm') ? spawnSync('pnpm', ['--version'], { encoding: 'utf8' }).stdout.trim() : '';
  if (current === wanted) return;
  step(`installing pnpm ${wanted} (found ${current || 'none'})`);
  run('npm', ['install', '--global', '--no-fund', '--no-audit', `pnpm@${wanted}`]);
}

function install() {
  ensureSystemPackages();
  ensurePnpm();
  step('pnpm install');
  run('pnpm', ['install', ...(isCI ? ['--frozen-lockfile'] : []), '--prefer-offline']);
  step('generating Prisma clients');
  run('pnpm', ['run', '--silent', 'prisma:generate']);
}

function test() {
  install();
  step('static checks: types, lint and format, compose file');
  run('pnpm', ['run', '--silent', 'check']);
  step('infrastructure: Postgres, Redis, Apache Kafka');
  run('pnpm', ['run', '--silent', 'infra:up']);
  step('tests: unit, integration, e2e');
  const report = join(root, '.infra', 'test-report.json');
  rmSync(report, { force: true }); // never judge this run by an earlier run's report
  const status = run(
    'pnpm',
    ['exec', 'vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`],
    { allowFailure: true },
  );
  // One plain closing line, the same whatever the runner prints above it.
  if (!existsSync(report)) process.exit(status || 1);
  const problems = reportProblems(JSON.parse(readFileSync(report, 'utf8')));
  for (const problem of problems) console.error(`✖ ${problem}`);
  process.exit(status || (problems.length > 0 ? 1 : 0));
}

// The vitest project of a test file, as vitest.config.ts assigns them.
const projectOf = (file) =>
  file.endsWith('.e2e.test.ts')
    ? 'e2e'
    : file.endsWith('.int.test.ts')
      ? 'integration'
      : file.endsWith('.drill.test.ts')
        ? 'drills'
        : 'unit';

/**
 * Prints the closing count and returns what makes a green run untrustworthy: a project that ran no test
 * (its files were not found, or all were filtered out) or any test that was skipped, focused away or left todo.
 */
function reportProblems(report) {
  const ran = { unit: 0, integration: 0, e2e: 0, drills: 0 };
  const skipped = [];
  for (const file of report.testResults) {
    for (const test of file.assertionResults) {
      if (test.status === 'passed' || test.status === 'failed') ran[projectOf(file.name)] += 1;
      else skipped.push(`${file.name.replace(`${root}/`, '')}: ${test.fullName} (${test.status})`);
    }
  }
  console.log(
    `\nTests: ${report.numPassedTests} passed, ${report.numFailedTests} failed${skipped.length ? `, ${skipped.length} skipped` : ''}`,
  );
  return [
    ...Object.entries(ran)
      .filter(([, count]) => count === 0)
      .map(([project]) => `the ${project} project ran no test`),
    ...skipped.map((test) => `not run: ${test}`),
  ];
}

function start() {
  install();
  // Brings the infrastructure up itself, then migrations, seed, subgraphs and the gateway.
  run('pnpm', ['run', '--silent', 'start:supergraph']);
}

if (command === 'test') test();
else if (command === 'start') start();
else if (command === 'install') install();
else {
  console.error('usage: shop.mjs <test|start|install>');
  process.exit(2);
}
