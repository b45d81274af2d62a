// `tsx bench/src/profile-summary.ts <file.cpuprofile> [top]`: where a V8 CPU profile (`pnpm bench --profile`)
// spends its self time, by package (or our own files) and by function.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: tsx bench/src/profile-summary.ts <file.cpuprofile> [top]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfUs = new Map<number, number>();
for (const [i, id] of profile.samples.entries()) {
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}

/** `@scope/pkg` for a dependency, the repository path for our own code, `(node)` / `(native)` otherwise. */
function ownerOf(url: string): string {
  const inModules = /node_modules\/(?!\.pnpm)((?:@[^/]+\/)?[^/]+)/.exec(
    url.split('node_modules/.pnpm/').pop() ?? '',
  );
  if (url.includes('node_modules')) return inModules?.[1] ?? 'node_modules';
  if (url.startsWith('node:') || (!url.includes('/') && url)) return '(node internals)';
  if (!url) return '(native / gc / idle)';
  return url.replace(/^file:\/\/.*?\/(gateway|packages|bench|subgraphs)\//, '$1/');
}

const byOwner = new Map<string, number>();
const byFunction = new Map<string, number>();
let total = 0;
for (const [id, us] of selfUs) {
  const node = byId.get(id);
  if (!node) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  if (functionName === '(idle)') continue;
  total += us;
  const owner = ownerOf(url);
  byOwner.set(owner, (byOwner.get(owner) ?? 0) + us);
  const name = `${functionName || '(anonymous)'}  ${owner}:${lineNumber + 1}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + us);
}
const print = (title: string, entries: Map<string, number>) => {
  console.log(`\n${title} (self time, excluding idle)`);
  for (const [name, us] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(
      `${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`,
    );
  }
};
console.log(`${file}: ${(total / 1000).toFixed(0)} ms busy`);
print('by package', byOwner);
print('by function', byFunction);
