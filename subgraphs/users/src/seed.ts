import type { UsersConfig } from './config';
import type { PrismaClient } from './generated/prisma/client';
import { PasswordHasher } from './passwords';
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
export function demoUsersFromConfig(
  config: Pick<
    UsersConfig,
    | 'SEED_CUSTOMER_EMAIL'
    | 'SEED_CUSTOMER_PASSWORD'
    | 'SEED_CUSTOMER_NAME'
    | 'SEED_ADMIN_EMAIL'
    | 'SEED_ADMIN_PASSWORD'
    | 'SEED_ADMIN_NAME'
  >,
): DemoUsers {
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
