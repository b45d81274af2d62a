import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { projectRoot } from './paths';

// Fails when committed generated code is stale: the composed schemas, resolver types and the typed client
// must equal what `pnpm compose` and `pnpm codegen` produce from the current sources.

const generatedRoots = ['schema', 'packages/client/src/generated', 'subgraphs'];
const isGenerated = (path: string) =>
  path.startsWith('schema/') ||
  path.startsWith('packages/client/src/generated/') ||
  /^subgraphs\/[^/]+\/src\/generated\/resolvers\.ts$/.test(path);

function snapshot(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir)) {
      if (entry === 'node_modules' || entry === 'prisma') continue;
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const rel = relative(projectRoot, path);
        if (isGenerated(rel)) files.set(rel, createHash('sha256').update(readFileSync(path)).digest('hex'));
      }
    }
  };
  for (const root of generatedRoots) walk(join(projectRoot, root));
  return files;
}

function run(script: string): void {
  const result = spawnSync('pnpm', ['run', '--silent', script], { cwd: projectRoot, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const before = snapshot();
run('compose');
run('codegen');
const after = snapshot();
const changed = [...new Set([...before.keys(), ...after.keys()])].filter(
  (file) => before.get(file) !== after.get(file),
);
if (changed.length > 0) {
  console.error(
    `generated files were stale (now regenerated, commit them):\n${changed.map((f) => `  - ${f}`).join('\n')}`,
  );
  process.exit(1);
}
console.log('generated files are up to date');
