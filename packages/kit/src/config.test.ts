import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, envModels, parseConfig } from './config';

const publicKey = '-----BEGIN PUBLIC KEY-----\\nMCowBQYDK2VwAyEA\\n-----END PUBLIC KEY-----';

describe('parseConfig', () => {
  const schema = z.object({
    ...envModels.server(3001).shape,
    ...envModels.auth.shape,
    ...envModels.postgres.shape,
    ...envModels.kafka.shape,
  });

  it('applies defaults, coerces numbers and splits broker lists', () => {
    const config = parseConfig(schema, {
      DATABASE_URL: 'postgresql://localhost/users',
      JWT_PUBLIC_KEY: publicKey,
      KAFKA_BROKERS: 'a:9092, b:9092',
    });
    expect(config.PORT).toBe(3001);
    expect(config.KAFKA_BROKERS).toEqual(['a:9092', 'b:9092']);
    expect(config.LOG_LEVEL).toBe('info');
    // Only this machine can call a service unless HOST says otherwise (subgraphs sit behind the gateway).
    expect(config.HOST).toBe('127.0.0.1');
    expect(config.JWT_PUBLIC_KEY).toContain('\n');
  });

  it('reports every problem at once', () => {
    let error: unknown;
    try {
      parseConfig(schema, { PORT: 'abc', JWT_PUBLIC_KEY: 'not a key', DATABASE_URL: 'mysql://x/y' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('PORT');
    expect(problems).toContain('DATABASE_URL');
    expect(problems).toContain('JWT_PUBLIC_KEY');
  });

  it('asks nothing of a model a service does not use', () => {
    const gatewayLike = z.object({ ...envModels.server(3000).shape, ...envModels.auth.shape });
    expect(parseConfig(gatewayLike, { JWT_PUBLIC_KEY: publicKey })).not.toHaveProperty('KAFKA_BROKERS');
    expect(() => parseConfig(envModels.stripe, { STRIPE_SECRET_KEY: 'pk_test_1' })).toThrow(
      /STRIPE_SECRET_KEY[\s\S]*STRIPE_WEBHOOK_SECRET/,
    );
  });
});
