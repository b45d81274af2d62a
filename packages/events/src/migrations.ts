import { fileURLToPath } from 'node:url';

/**
 * The outbox and processed-event tables as a Prisma-layout migrations folder (absolute path). A Postgres
 * subgraph migrates with `[eventsMigrationsDir, <its prisma/migrations>]`; its schema.prisma may declare the
 * OutboxEvent/ProcessedEvent models to read them (packages/testing/fixture shows the exact models).
 */
export const eventsMigrationsDir = fileURLToPath(new URL('../migrations', import.meta.url));
