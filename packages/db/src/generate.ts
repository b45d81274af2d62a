import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * An existing file for PRISMA_SCHEMA_ENGINE_BINARY: with it `prisma generate` skips downloading the schema
 * engine (impossible here) and never runs it; anything that does run it gets an explanation and exit 1.
 */
export const offlineSchemaEnginePath = fileURLToPath(new URL('../offline/schema-engine', import.meta.url));

/** The one Prisma CLI of the repository: the `prisma` dependency of @shop/db. */
export function prismaCliPath(): string {
  const manifest = createRequire(import.meta.url).resolve('prisma/package.json');
  return path.join(path.dirname(manifest), 'build', 'index.js');
}

/**
 * Runs `prisma generate` for a Prisma project (a folder with `prisma.config.ts` and `prisma/schema.prisma`)
 * without network access; the generator's `output` decides where the client goes.
 */
export async function generatePrismaClient(projectDir: string): Promise<void> {
  const cwd = path.resolve(projectDir);
  if (!existsSync(path.join(cwd, 'prisma.config.ts'))) {
    throw new Error(`${cwd} has no prisma.config.ts: not a Prisma project`);
  }
  const env = {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? offlineSchemaEnginePath,
    // Prisma's update check calls a server that is unreachable from here: do not try.
    CHECKPOINT_DISABLE: process.env.CHECKPOINT_DISABLE ?? '1',
  };
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [prismaCliPath(), 'generate'], { cwd, env, stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (exitCode !== 0) throw new Error(`prisma generate failed in ${cwd} (exit code ${exitCode})`);
}
