import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseConfig } from '@shop/kit';
import { describe, expect, it } from 'vitest';
import { seedEnvSchema } from '../src/config';
import { demoUsersFromConfig, seedUsers } from '../src/seed';
import { LOGIN, type Session, useUsers } from './harness';

const users = useUsers();

const login = (email: string, password: string) =>
  users.graphql<{ login: Session }>(LOGIN, { email, password });

describe('seed', () => {
  it('creates the demo customer and admin from the defaults, and a second run changes nothing', async () => {
    const demo = demoUsersFromConfig(parseConfig(seedEnvSchema, { DATABASE_URL: 'postgresql://unused/db' }));
    expect(demo).toEqual({
      customer: { email: 'test@example.com', password: 'password123', name: expect.any(String) },
      admin: { email: 'admin@example.com', password: 'admin123', name: expect.any(String) },
    });

    const first = await seedUsers(users.prisma, demo);
    const countAfterFirst = await users.prisma.user.count();
    const second = await seedUsers(users.prisma, demo);
    expect(second.customer.id).toBe(first.customer.id);
    expect(second.admin.id).toBe(first.admin.id);
    expect(await users.prisma.user.count()).toBe(countAfterFirst);
    expect(
      await users.prisma.user.count({ where: { email: { in: ['test@example.com', 'admin@example.com'] } } }),
    ).toBe(2);

    const customer = await login('test@example.com', 'password123');
    expect(customer.data?.login.user).toMatchObject({ email: 'test@example.com', role: 'CUSTOMER' });
    const admin = await login('admin@example.com', 'admin123');
    expect(admin.data?.login.user).toMatchObject({ email: 'admin@example.com', role: 'ADMIN' });
  });

  it('runs as a script against DATABASE_URL, with SEED_* overrides', async () => {
    const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
    const script = fileURLToPath(new URL('../src/seed.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(tsx, [script], {
      env: {
        ...process.env,
        DATABASE_URL: users.databaseUrl,
        SEED_ADMIN_EMAIL: 'Boss@Example.com',
        SEED_ADMIN_PASSWORD: 'a different secret',
      },
    });
    expect(stdout).toContain('boss@example.com (ADMIN)');
    const admin = await login('boss@example.com', 'a different secret');
    expect(admin.data?.login.user.role).toBe('ADMIN');
  });
});
