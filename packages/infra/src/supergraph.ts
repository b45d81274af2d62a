/**
 * Every subgraph of the supergraph: its name (as in composition), its default port (ARCHITECTURE.md,
 * Topology) and whether it keeps a Postgres database. Composition, `pnpm start` and the tests read this list.
 */
export const subgraphs = [
  { name: 'users', port: 3001, database: 'users' },
  { name: 'products', port: 3002, database: 'products' },
  { name: 'orders', port: 3003, database: 'orders' },
  { name: 'cart', port: 3004, database: undefined },
  { name: 'payments', port: 3005, database: 'payments' },
  { name: 'inventory', port: 3006, database: 'inventory' },
  { name: 'notifications', port: 3007, database: 'notifications' },
] as const;

export type SubgraphName = (typeof subgraphs)[number]['name'];

export const GATEWAY_PORT = 3000;

export function subgraphUrl(port: number, host = 'localhost'): string {
  return `http://${host}:${port}/graphql`;
}
