import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { loadSubgraphs, projectRoot, subgraphUrl } from '@shop/infra';
import { subgraphSdl } from '@shop/kit';
import { parse, printSchema } from 'graphql';

/**
 * `pnpm compose`: composes every subgraph's SDL (no network, no running service) into
 * schema/supergraph.graphql (what the gateway serves) and schema/api.graphql (what clients see).
 * `--check` fails when either file is stale or composition reports errors.
 */
export async function composeSupergraph(urls: Partial<Record<string, string>> = {}) {
  const services = (await loadSubgraphs()).map((s) => ({
    name: s.name,
    url: urls[s.name] ?? subgraphUrl(s.env.port),
    typeDefs: parse(subgraphSdl(s.schemaPath)),
  }));
  const result = composeServices(services);
  if (result.errors) {
    throw new Error(`composition failed:\n${result.errors.map((e) => `  - ${e.message}`).join('\n')}`);
  }
  return {
    supergraphSdl: `${result.supergraphSdl.trim()}\n`,
    apiSdl: `${printSchema(result.schema.toAPISchema().toGraphQLJSSchema())}\n`,
    hints: result.hints.map((hint) => hint.toString()),
    subgraphNames: services.map((s) => s.name),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const check = process.argv.includes('--check');
  const outputs = { 'schema/supergraph.graphql': 'supergraphSdl', 'schema/api.graphql': 'apiSdl' } as const;
  try {
    const composed = await composeSupergraph();
    for (const hint of composed.hints) console.warn(`hint: ${hint}`);
    let stale = false;
    for (const [file, key] of Object.entries(outputs)) {
      const path = join(projectRoot, file);
      const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
      if (current === composed[key]) continue;
      if (check) {
        console.error(`${file} is stale: run pnpm compose`);
        stale = true;
      } else {
        writeFileSync(path, composed[key]);
        console.log(`wrote ${file}`);
      }
    }
    if (stale) process.exitCode = 1;
    else console.log(`composed ${composed.subgraphNames.join(', ')}`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}
