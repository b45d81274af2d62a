import { pathToFileURL } from 'node:url';
import { loadConfigOrExit } from '@shop/kit';
import { type SeedConfig, seedEnvSchema } from './config';
import { PasswordHasher } from './passwords';
import { createUsersPrisma, type PrismaClient } from './prisma';
import { type UserRecord, UsersRepository } from './users.repository';

export interface DemoUser {
  email: string;
  password: string;
  name: string;
}

export interface DemoUsers {
  customer: DemoUser;
  admin: DemoUser;
}

/** The demo accounts the configuration names (SEED_* keys, with their defaults). */
export function demoUsersFromConfig(config: SeedConfig): DemoUsers {
  return {
    customer: {
      email: config.SEED_CUSTOMER_EMAIL,
      password: config.SEED_CUSTOMER_PASSWORD,
      name: config.SEED_CUSTOMER_NAME,
    },
    admin: {
      email: config.SEED_ADMIN_EMAIL,
      password: config.SEED_ADMIN_PASSWORD,
      name: config.SEED_ADMIN_NAME,
    },
  };
}

/**
 * Idempotent: creates the demo customer and admin, or resets an existing account with that email to the
 * configured name, password and role. Returns both records.
 */
export async function seedUsers(
  prisma: PrismaClient,
  demo: DemoUsers,
): Promise<{ customer: UserRecord; admin: UserRecord }> {
  const repository = new UsersRepository(prisma);
  const passwords = await PasswordHasher.create();
  const upsert = async (user: DemoUser, role: UserRecord['role']) =>
    repository.upsertUserByEmail({
      email: user.email.trim().toLowerCase(),
      name: user.name,
      passwordHash: await passwords.hash(user.password),
      role,
    });
  return { customer: await upsert(demo.customer, 'CUSTOMER'), admin: await upsert(demo.admin, 'ADMIN') };
}

// `pnpm --filter @shop/users seed`: seeds the database of DATABASE_URL (migrate it first).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const config = loadConfigOrExit(seedEnvSchema);
  const prisma = createUsersPrisma(config.DATABASE_URL);
  try {
    const { customer, admin } = await seedUsers(prisma, demoUsersFromConfig(config));
    console.log(`seeded users: ${customer.email} (CUSTOMER), ${admin.email} (ADMIN)`);
  } finally {
    await prisma.$disconnect();
  }
}
