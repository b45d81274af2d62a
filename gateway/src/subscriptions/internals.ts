import { createRequire } from 'node:module';
import type { ApolloGateway, executeQueryPlan, GraphQLDataSource } from '@apollo/gateway';
import type { DocumentNode, GraphQLSchema } from 'graphql';

/** What executeQueryPlan takes, named from its own signature (the types live in packages we do not import). */
export type QueryPlan = Parameters<typeof executeQueryPlan>[0];
export type GatewayRequestContext = Parameters<typeof executeQueryPlan>[2];
export type OperationContext = Parameters<typeof executeQueryPlan>[3];
/** @apollo/federation-internals' Schema (the API schema the planner and executeQueryPlan work on). */
export type FederationSchema = Parameters<typeof executeQueryPlan>[5];
export type PlanNode = NonNullable<QueryPlan['node']>;
export type SubscriptionNode = Extract<PlanNode, { kind: 'Subscription' }>;
export type FetchNode = SubscriptionNode['primary'];
/** What runs after the event: the plan nodes a query would run (no Subscription node among them). */
export type RestNode = NonNullable<SubscriptionNode['rest']>;

/**
 * The parts of a loaded ApolloGateway that running a subscription needs. They are TypeScript-private in
 * @apollo/gateway 2.14.4 (pinned in gateway/package.json); `executor` reads the same fields to run queries. Read
 * only through `plannerOf`, which fails loudly (and gateway/test/subscriptions.e2e.test.ts with it) if an
 * upgrade renames them.
 */
export interface GatewayPlanner {
  /** The API schema clients are validated against (with the kit's Decimal/DateTime checks applied). */
  schema: GraphQLSchema;
  apiSchema: FederationSchema;
  supergraphSchema: GraphQLSchema;
  queryPlanner: { buildQueryPlan(operation: unknown): QueryPlan };
  serviceMap: Record<string, { url?: string; dataSource: GraphQLDataSource }>;
}

export function plannerOf(gateway: ApolloGateway): GatewayPlanner {
  const inside = gateway as unknown as Partial<GatewayPlanner>;
  const { schema, apiSchema, supergraphSchema, queryPlanner, serviceMap } = inside;
  if (
    !schema ||
    !apiSchema ||
    !supergraphSchema ||
    typeof queryPlanner?.buildQueryPlan !== 'function' ||
    !serviceMap
  ) {
    throw new Error(
      'ApolloGateway internals (schema, apiSchema, supergraphSchema, queryPlanner, serviceMap) are missing: ' +
        'subscriptions support @apollo/gateway 2.14.4 only',
    );
  }
  return { schema, apiSchema, supergraphSchema, queryPlanner, serviceMap };
}

// @apollo/federation-internals is a dependency of @apollo/gateway, not ours: load the very copy the gateway
// loaded (its classes are checked with instanceof), from the gateway's own location.
export const requireFromGateway = createRequire(createRequire(import.meta.url).resolve('@apollo/gateway'));
const internals = requireFromGateway('@apollo/federation-internals') as {
  operationFromDocument(
    schema: FederationSchema,
    document: DocumentNode,
    options?: { operationName?: string; validate?: boolean },
  ): unknown;
};

/**
 * The planner's view of an operation (federation-internals' Operation), as `executor` builds it; `validate:
 * false` for a document already validated (the one executeQueryPlan shapes results by).
 */
export function operationFromDocument(
  apiSchema: FederationSchema,
  document: DocumentNode,
  operationName: string | undefined,
  options: { validate?: boolean } = {},
): unknown {
  return internals.operationFromDocument(apiSchema, document, {
    ...(operationName ? { operationName } : {}),
    ...options,
  });
}
