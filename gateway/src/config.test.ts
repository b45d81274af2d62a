import { parseConfig, readEnvFile } from '@shop/kit';
import { describe, expect, it } from 'vitest';
import { gatewayEnvSchema } from './config';

describe('gateway config', () => {
  const example = readEnvFile(new URL('../.env.example', import.meta.url));

  it('.env.example lists exactly the keys of the schema, and parses', () => {
    expect(Object.keys(example).sort()).toEqual(Object.keys(gatewayEnvSchema.shape).sort());
    expect(parseConfig(gatewayEnvSchema, example).SUBGRAPH_URLS).toEqual({});
  });

  it('reads subgraph URL overrides as name=url pairs and refuses anything else', () => {
    const overrides = 'a=http://a.internal:3001/graphql,b=http://b.internal:3002/graphql';
    expect(parseConfig(gatewayEnvSchema, { ...example, SUBGRAPH_URLS: overrides }).SUBGRAPH_URLS).toEqual({
      a: 'http://a.internal:3001/graphql',
      b: 'http://b.internal:3002/graphql',
    });
    expect(() => parseConfig(gatewayEnvSchema, { ...example, SUBGRAPH_URLS: 'a' })).toThrow(/SUBGRAPH_URLS/);
  });

  it('needs no Kafka or database settings (Redis only for the per-client rate limit)', () => {
    expect(Object.keys(gatewayEnvSchema.shape).filter((key) => /KAFKA|DATABASE/.test(key))).toEqual([]);
  });
});
