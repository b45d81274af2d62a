import type { AnySubgraph } from '@shop/runtime';

/**
 * Every subgraph of the supergraph, in start order. `pnpm start`, `pnpm compose`, infra:up (which databases
 * to create), check-generated and the e2e test supergraph all read this one list: adding a subgraph is its
 * folder (see subgraphs/README.md) plus one line here.
 */
export const subgraphRegistry = {
  users: () => import('./users/src/subgraph'),
  products: () => import('./products/src/subgraph'),
  cart: () => import('./cart/src/subgraph'),
  inventory: () => import('./inventory/src/subgraph'),
  orders: () => import('./orders/src/subgraph'),
  payments: () => import('./payments/src/subgraph'),
  notifications: () => import('./notifications/src/subgraph'),
} satisfies Record<string, () => Promise<{ subgraph: AnySubgraph }>>;

export type SubgraphName = keyof typeof subgraphRegistry;
