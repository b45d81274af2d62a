import { parseConfig, readEnvFile } from '@shop/kit';
import { describe, expect, it } from 'vitest';
import { seedEnvSchema, usersEnvSchema } from './config';

describe('users config', () => {
  const example = readEnvFile(new URL('../.env.example', import.meta.url));

  it('.env.example lists exactly the keys of the schema, and parses', () => {
    expect(Object.keys(example).sort()).toEqual(Object.keys(usersEnvSchema.shape).sort());
    const config = parseConfig(usersEnvSchema, example);
    expect(config.JWT_PRIVATE_KEY).toContain('\n');
  });

  it('defaults ports, lifetimes and the demo accounts', () => {
    const config = parseConfig(usersEnvSchema, {
      DATABASE_URL: 'postgresql://localhost/users',
      JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\\nx\\n-----END PUBLIC KEY-----',
      JWT_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\\nx\\n-----END PRIVATE KEY-----',
    });
    expect(config).toMatchObject({
      PORT: 3001,
      ACCESS_TOKEN_TTL_SECONDS: 900,
      REFRESH_TOKEN_TTL_DAYS: 30,
      SEED_CUSTOMER_EMAIL: 'test@example.com',
      SEED_CUSTOMER_PASSWORD: 'password123',
      SEED_ADMIN_EMAIL: 'admin@example.com',
      SEED_ADMIN_PASSWORD: 'admin123',
    });
  });

  it('reports a missing private key and the seed needs no keys at all', () => {
    expect(() => parseConfig(usersEnvSchema, { DATABASE_URL: 'postgresql://localhost/users' })).toThrow(
      /JWT_PRIVATE_KEY/,
    );
    expect(
      parseConfig(seedEnvSchema, { DATABASE_URL: 'postgresql://localhost/users' }).SEED_ADMIN_EMAIL,
    ).toBe('admin@example.com');
  });
});
