import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findProjectRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no pnpm-workspace.yaml above ${start}`);
    dir = parent;
  }
  return dir;
}

export const projectRoot = findProjectRoot(dirname(fileURLToPath(import.meta.url)));

/** Everything infra:up starts keeps its data, logs and pids here (gitignored). */
export const infraDir = resolve(process.env.SHOP_INFRA_DIR ?? join(projectRoot, '.infra'));

/** Downloads shared by every checkout on the machine (the Kafka jars are the slow step). */
export const cacheDir = resolve(process.env.SHOP_CACHE_DIR ?? join(homedir(), '.cache', 'shop-supergraph'));

export const kafkaPomDir = join(projectRoot, 'packages', 'infra', 'kafka');
