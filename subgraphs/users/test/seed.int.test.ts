import { parseConfig } from '@shop/kit';
import { seedSubgraph } from '@shop/runtime';
import { describe, expect, it } from 'vitest';
import { usersEnv } from '../src/config';
import { demoUsersFromConfig, seedUsers } from '../src/seed';
import { subgraph } from '../src/subgraph';
import { LOGIN, type Session, useUsers } from './harness';

const users = useUsers();

const login = (email: string, password: string) =>
  users.graphql<{ login: Session }>(LOGIN, { email, password });

const seedKeys = {
  SEED_CUSTOMER_EMAIL: true,
  SEED_CUSTOMER_PASSWORD: true,
  SEED_CUSTOMER_NAME: true,
  SEED_ADMIN_EMAIL: true,
  SEED_ADMIN_PASSWORD: true,
  SEED_ADMIN_NAME: true,
} as const;

describe('seed', () => {
  it('creates the demo customer and admin from the defaults, and a second run changes nothing', async () => {
    const demo = demoUsersFromConfig(parseConfig(usersEnv.schema.pick(seedKeys), {}));
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

  it('is the seed of the subgraph definition, and takes SEED_* overrides from its settings', async () => {
    const said = await seedSubgraph(subgraph, {
      env: { ...users.env, SEED_ADMIN_EMAIL: 'Boss@Example.com', SEED_ADMIN_PASSWORD: 'a different secret' },
    });
    expect(said).toContain('boss@example.com (ADMIN)');
    const admin = await login('boss@example.com', 'a different secret');
    expect(admin.data?.login.user.role).toBe('ADMIN');
  });

  it('refuses, in production, demo passwords the password policy would refuse (the defaults are for local use)', async () => {
    const production = { ...users.env, NODE_ENV: 'production' };
    await expect(seedSubgraph(subgraph, { env: production })).rejects.toThrow(
      /SEED_CUSTOMER_PASSWORD.*too common/,
    );
    const strong = await seedSubgraph(subgraph, {
      env: {
        ...production,
        SEED_CUSTOMER_EMAIL: 'shopper@example.com',
        SEED_CUSTOMER_PASSWORD: 'violet lantern river',
        SEED_ADMIN_EMAIL: 'chief@example.com',
        SEED_ADMIN_PASSWORD: 'copper kettle meadow',
      },
    });
    expect(strong).toContain('chief@example.com (ADMIN)');
  });
});
