import { parseConfig, readEnvFile } from '@shop/kit';
import { describe, expect, it } from 'vitest';
import { productsEnvSchema } from './config';

describe('products config', () => {
  const example = readEnvFile(new URL('../.env.example', import.meta.url));

  it('.env.example lists every key of the schema, and no other', () => {
    expect(Object.keys(example).sort()).toEqual(Object.keys(productsEnvSchema.shape).sort());
  });

  it('.env.example parses', () => {
    const config = parseConfig(productsEnvSchema, example);
    expect(config).toMatchObject({ PORT: 3002, DEFAULT_CURRENCY: 'USD' });
  });

  it('defaults PORT and DEFAULT_CURRENCY and refuses a bad database URL or currency', () => {
    const { JWT_PUBLIC_KEY } = example;
    expect(
      parseConfig(productsEnvSchema, { JWT_PUBLIC_KEY, DATABASE_URL: 'postgresql://localhost/products' }),
    ).toMatchObject({ PORT: 3002, DEFAULT_CURRENCY: 'USD' });
    expect(() =>
      parseConfig(productsEnvSchema, {
        JWT_PUBLIC_KEY,
        DATABASE_URL: 'mysql://x/y',
        DEFAULT_CURRENCY: 'usd',
      }),
    ).toThrow(/DATABASE_URL[\s\S]*DEFAULT_CURRENCY|DEFAULT_CURRENCY[\s\S]*DATABASE_URL/);
  });
});
