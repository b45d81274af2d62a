export {
  createPrismaAdapter,
  databaseName,
  ensureDatabase,
  type PrismaAdapterOptions,
  preparedStatementNames,
  redactUrl,
  withDatabase,
} from './database';
export { isRecordNotFound, refuseDuplicates, UniqueViolation } from './errors';
export { generatePrismaClient, offlineSchemaEnginePath, prismaCliPath } from './generate';
export { type KeysetPosition, newestFirst, olderThan } from './keyset';
export {
  type ApplyMigrationsOptions,
  type ApplyMigrationsResult,
  applyMigrations,
  checksumMatches,
  type MigrationFile,
  migrationChecksum,
  prismaMigrateLockKey,
  readMigrations,
} from './migrations';
