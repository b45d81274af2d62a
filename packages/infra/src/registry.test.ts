import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, readEnvFile } from '@shop/kit';
import { describe, expect, it } from 'vitest';
import { subgraphRegistry } from '../../../subgraphs/registry';
import { projectRoot } from './paths';
import { loadSubgraphs, subgraphDir } from './registry';

describe('the subgraph registry', () => {
  it('lists every subgraph folder, and only those', () => {
    const folders = readdirSync(join(projectRoot, 'subgraphs'), { withFileTypes: true })
      .filter(
        (entry) =>
          entry.isDirectory() && existsSync(join(projectRoot, 'subgraphs', entry.name, 'package.json')),
      )
      .map((entry) => entry.name);
    expect(Object.keys(subgraphRegistry).sort()).toEqual(folders.sort());
  });

  it('loads each definition under its own name, with its own port and the template files', async () => {
    const subgraphs = await loadSubgraphs();
    expect(subgraphs.map((s) => s.name)).toEqual(Object.keys(subgraphRegistry));
    expect(new Set(subgraphs.map((s) => s.env.port)).size).toBe(subgraphs.length);
    for (const { name, schemaPath } of subgraphs) {
      expect(schemaPath).toBe(join(subgraphDir(name), 'src', 'schema.graphql'));
      for (const file of ['src/index.ts', 'src/config.ts', 'src/context.ts', 'src/resolvers/index.ts']) {
        expect(existsSync(join(subgraphDir(name), file)), `${name}/${file}`).toBe(true);
      }
    }
  });

  it.each(Object.keys(subgraphRegistry))(
    '%s: .env.example lists exactly its settings, and parses',
    async (name) => {
      const subgraph = (await loadSubgraphs()).find((s) => s.name === name);
      if (!subgraph) throw new Error(`${name} is not loaded`);
      const example = readEnvFile(join(subgraphDir(name), '.env.example'));
      expect(Object.keys(example).sort()).toEqual(Object.keys(subgraph.env.schema.shape).sort());
      expect(parseConfig(subgraph.env.schema, example)).toMatchObject({ PORT: subgraph.env.port });
    },
  );
});
