import { join } from 'node:path';
import type { AnySubgraph } from '@shop/runtime';
import { type SubgraphName, subgraphRegistry } from '../../../subgraphs/registry';
import { projectRoot } from './paths';

export type { SubgraphName };

/** The gateway's default port (ARCHITECTURE.md, Topology); each subgraph's is in its env (`subgraphEnv`). */
export const GATEWAY_PORT = 3000;

export function subgraphUrl(port: number, host = 'localhost'): string {
  return `http://${host}:${port}/graphql`;
}

/** A subgraph's folder. */
export function subgraphDir(name: string): string {
  return join(projectRoot, 'subgraphs', name);
}

let loaded: Promise<AnySubgraph[]> | undefined;

/**
 * Every registered subgraph's definition, in registry order. Checks what the registry cannot say by itself:
 * each entry's definition carries the entry's name, and no two subgraphs share a default port.
 */
export function loadSubgraphs(): Promise<AnySubgraph[]> {
  loaded ??= (async () => {
    const definitions: AnySubgraph[] = [];
    for (const [name, load] of Object.entries(subgraphRegistry)) {
      const { subgraph } = await load();
      if (subgraph.name !== name) {
        throw new Error(`subgraphs/registry.ts lists ${name}, but its definition is named ${subgraph.name}`);
      }
      const clash = definitions.find((other) => other.env.port === subgraph.env.port);
      if (clash)
        throw new Error(`subgraphs ${clash.name} and ${name} both default to port ${subgraph.env.port}`);
      definitions.push(subgraph);
    }
    return definitions;
  })();
  return loaded;
}

/** The Postgres database of each subgraph that uses one: named after the subgraph. */
export async function subgraphDatabases(): Promise<string[]> {
  return (await loadSubgraphs()).filter((s) => s.env.uses.includes('postgres')).map((s) => s.name);
}
