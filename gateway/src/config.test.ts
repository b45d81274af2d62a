import { parseConfig, readEnvFile } from '@shop/kit';
import { describe, expect, it } from 'vitest';
import { gatewayEnvSchema } from './config';

describe('gateway config', () => {
  const example = readEnvFile(new URL('../.env.example', import.meta.url));

  it('.env.example lists exactly the keys of the schema, and parses', () => {
    expect(Object.keys(example).sort()).toEqual(Object.keys(gatewayEnvSchema.shape).sort());
    expect(parseConfig(gatewayEnvSchema, example).SUBGRAPH_URLS).toEqual({
      users: 'http://localhost:3001/graphql',
      products: 'http://localhost:3002/graphql',
    });
  });

  it('refuses subgraph URLs that are not name=url', () => {
    expect(() => parseConfig(gatewayEnvSchema, { ...example, SUBGRAPH_URLS: 'users' })).toThrow(
      /SUBGRAPH_URLS/,
    );
  });
});
