import { fileURLToPath } from 'node:url';
import { createPrismaAdapter } from '@shop/db';
import { PrismaClient } from './generated/prisma/client';

export { PrismaClient };

/** The committed migrations of the users database (the migrate step, test databases). */
export const migrationsDir = fileURLToPath(new URL('../prisma/migrations', import.meta.url));

/** A client of the users database through the pg driver adapter (Prisma 7 needs no engine binary). */
export function createUsersPrisma(databaseUrl: string): PrismaClient {
  return new PrismaClient({ adapter: createPrismaAdapter(databaseUrl) });
}
