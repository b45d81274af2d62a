import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { baseEnvSchema, ConfigError, parseConfig } from './config';

const publicKey = '-----BEGIN PUBLIC KEY-----\\nMCowBQYDK2VwAyEA\\n-----END PUBLIC KEY-----';

describe('parseConfig', () => {
  const schema = baseEnvSchema.extend({ PORT: z.coerce.number().int().positive(), DATABASE_URL: z.url() });

  it('applies defaults, coerces numbers and splits broker lists', () => {
    const config = parseConfig(schema, {
      PORT: '3001',
      DATABASE_URL: 'postgresql://localhost/users',
      JWT_PUBLIC_KEY: publicKey,
      KAFKA_BROKERS: 'a:9092, b:9092',
    });
    expect(config.PORT).toBe(3001);
    expect(config.KAFKA_BROKERS).toEqual(['a:9092', 'b:9092']);
    expect(config.LOG_LEVEL).toBe('info');
    expect(config.JWT_PUBLIC_KEY).toContain('\n');
  });

  it('reports every problem at once', () => {
    let error: unknown;
    try {
      parseConfig(schema, { PORT: 'abc', JWT_PUBLIC_KEY: 'not a key' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('PORT');
    expect(problems).toContain('DATABASE_URL');
    expect(problems).toContain('JWT_PUBLIC_KEY');
  });
});
