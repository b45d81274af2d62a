import { parseArgs } from 'node:util';
import { databaseName, ensureDatabase, redactUrl } from './database';
import { generatePrismaClient } from './generate';
import { applyMigrations } from './migrations';

const usage = `usage:
  tsx packages/db/src/cli.ts migrate <migrationsDir>... [--database-url URL]   (default: env DATABASE_URL;
                                     several folders are merged by migration name)
  tsx packages/db/src/cli.ts generate <projectDir>                          (a folder with prisma.config.ts)`;

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { 'database-url': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const [command, target, ...more] = positionals;
  if (values.help) {
    console.log(usage);
    return;
  }
  if (target === undefined || (command !== 'migrate' && more.length > 0)) throw new Error(usage);

  switch (command) {
    case 'migrate': {
      const databaseUrl = values['database-url'] ?? process.env.DATABASE_URL;
      if (databaseUrl === undefined)
        throw new Error(`no database: pass --database-url or set DATABASE_URL\n${usage}`);
      const name = databaseName(databaseUrl);
      const created = await ensureDatabase(databaseUrl);
      console.log(`${created ? 'created' : 'found'} database ${name} (${redactUrl(databaseUrl)})`);
      const { applied, alreadyApplied } = await applyMigrations({
        databaseUrl,
        migrationsDir: [target, ...more],
        log: (message) => console.log(message),
      });
      console.log(`${applied.length} migration(s) applied, ${alreadyApplied.length} already applied`);
      return;
    }
    case 'generate':
      await generatePrismaClient(target);
      return;
    default:
      throw new Error(usage);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
