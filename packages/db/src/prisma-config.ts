import { defineConfig, type PrismaConfig } from 'prisma/config';

/**
 * The `prisma.config.ts` of every Prisma project in this repository (a subgraph, a fixture): the schema and
 * the committed migrations live in `prisma/`. Prisma resolves these paths against the config file's folder.
 * The database URL is read from DATABASE_URL only when set: `prisma generate` needs none, and Prisma's own
 * migrate commands (where its schema engine exists) fail clearly without it.
 */
export function defineProjectPrismaConfig(overrides: PrismaConfig = {}): ReturnType<typeof defineConfig> {
  const url = process.env.DATABASE_URL;
  return defineConfig({
    schema: 'prisma/schema.prisma',
    migrations: { path: 'prisma/migrations' },
    ...(url === undefined ? {} : { datasource: { url } }),
    ...overrides,
  });
}
