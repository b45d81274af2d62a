import type { ApolloGateway, GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { ApolloServerOptionsWithGateway, BaseContext } from '@apollo/server';
import { tracingEnabled } from '@shop/kit';
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  getVariableValues,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { ResultShaper } from './result-shaper';
import {
  type FederationSchema,
  type FetchNode,
  type GatewayRequestContext,
  operationFromDocument,
  type PlanNode,
  plannerOf,
  type QueryPlan,
  requireFromGateway,
} from './subscriptions/internals';

type GatewayInterface = ApolloServerOptionsWithGateway<BaseContext>['gateway'];
type Loaded = Awaited<ReturnType<GatewayInterface['load']>>;
type GatewayExecutor = NonNullable<Loaded['executor']>;
type ExecutionResult = Awaited<ReturnType<GatewayExecutor>>;
type RequestContext = Parameters<GatewayExecutor>[0];
type Data = Record<string, unknown>;

// The gateway's own helpers, from the copy @apollo/gateway 2.14.4 (pinned in gateway/package.json) loaded; the
// executor below runs a plan exactly as its `executeQueryPlan` does, with the per-operation work done once.
const federation = requireFromGateway('@apollo/federation-internals') as {
  errorCodeDef(error: unknown): { err(message: string, options: object): GraphQLError } | undefined;
  ERRORS: { DOWNSTREAM_SERVICE_ERROR: { err(message: string, options: object): GraphQLError } };
};
const planner = requireFromGateway('@apollo/query-planner') as {
  evaluateCondition(condition: PlanNode, variableDefinitions: unknown, variables: unknown): boolean;
  getResponseName(selection: unknown): string;
};
const rewrites = requireFromGateway('@apollo/gateway/dist/dataRewrites') as {
  applyRewrites(schema: unknown, rewrites: unknown, value: Data): void;
  isObjectOfType(schema: unknown, value: Data, typeCondition: string): boolean;
};
const { deepMerge } = requireFromGateway('@apollo/gateway/dist/utilities/deepMerge') as {
  deepMerge(target: unknown, source: unknown): unknown;
};
// GraphQLDataSourceRequestKind.INCOMING_OPERATION (a TypeScript enum, which a named ESM import misses).
const INCOMING_OPERATION = 'incoming operation' as GraphQLDataSourceProcessOptions['kind'];
const { generateHydratedPaths } = requireFromGateway('@apollo/gateway/dist/executeQueryPlan') as {
  generateHydratedPaths(parent: unknown[], path: unknown[], data: unknown, result: unknown[][]): void;
};

/** What one operation of one document needs, worked out once. */
interface PreparedOperation {
  /** The API schema it was planned against (a reload brings another). */
  apiSchema: FederationSchema;
  operation: OperationDefinitionNode;
  fragments: Record<string, FragmentDefinitionNode>;
  /** Shapes the answer by federation-internals' Operation, built as executeQueryPlan builds it. */
  shaper: ResultShaper;
  queryPlan: QueryPlan;
}

interface Cursor {
  path: (string | number)[];
  data: unknown;
  fullResult: Data;
}

interface Execution {
  context: GatewayRequestContext;
  prepared: PreparedOperation;
  supergraphSchema: unknown;
  services: Record<string, GraphQLDataSource>;
  errors: GraphQLError[];
}

/**
 * Runs query plans as @apollo/gateway's `executeQueryPlan` does (same fetches, merging, rewrites, error paths and
 * result shaping, `computeResponse`), but with everything that depends only on the operation done once per
 * parsed document: finding the operation, checking it against the API schema, the plan and the shaping operation.
 * Apollo's executor hashes the query text, rebuilds its operation context and its federation Operation on every
 * request (a few % of the gateway's CPU in the profile). With tracing on, or for anything this does not run
 * (subscriptions, @defer, usage traces, the debug query-plan header), the request goes to Apollo's executor.
 */
export class CachedPlanExecutor {
  private readonly prepared = new WeakMap<
    DocumentNode,
    Map<string, { apiSchema: FederationSchema; prepared: PreparedOperation | undefined }>
  >();
  private servicesOf: { map: object; services: Record<string, GraphQLDataSource> } | undefined;

  constructor(
    private readonly gateway: ApolloGateway,
    private readonly fallback: GatewayExecutor,
  ) {}

  readonly execute: GatewayExecutor = async (requestContext) => {
    const context = requestContext as unknown as GatewayRequestContext & RequestContext;
    if (tracingEnabled() || context.metrics?.captureTraces || this.wantsQueryPlan(context)) {
      return this.fallback(requestContext);
    }
    const inside = plannerOf(this.gateway);
    const prepared = this.prepare(context, inside.apiSchema);
    if (!prepared) return this.fallback(requestContext);
    const { variableDefinitions } = prepared.operation;
    if (variableDefinitions) {
      const { errors } = getVariableValues(
        inside.schema,
        variableDefinitions,
        context.request.variables ?? {},
      );
      if (errors) return { errors };
    }
    return this.run({
      context,
      prepared,
      supergraphSchema: inside.supergraphSchema,
      services: this.services(inside.serviceMap),
      errors: [],
    });
  };

  /**
   * Whether this executor runs the operation itself (planned, no @defer, no introspection) against the API schema
   * loaded now: the known-operations path serves only such operations (gateway/src/http/known-operations.ts).
   */
  runsItself(document: DocumentNode, operationName: string | undefined): boolean {
    const { apiSchema } = plannerOf(this.gateway);
    const context = { document, request: { operationName } } as unknown as RequestContext;
    return this.prepare(context, apiSchema) !== undefined;
  }

  private wantsQueryPlan(context: RequestContext): boolean {
    const exposes = (
      this.gateway as unknown as { config?: { __exposeQueryPlanExperimental?: boolean; debug?: boolean } }
    ).config;
    return Boolean(
      exposes?.debug ||
        (exposes?.__exposeQueryPlanExperimental &&
          context.request.http?.headers.get('Apollo-Query-Plan-Experimental')),
    );
  }

  private services(serviceMap: Record<string, { dataSource: GraphQLDataSource }>) {
    if (this.servicesOf?.map !== serviceMap) {
      const services: Record<string, GraphQLDataSource> = Object.create(null);
      for (const [name, { dataSource }] of Object.entries(serviceMap)) services[name] = dataSource;
      this.servicesOf = { map: serviceMap, services };
    }
    return this.servicesOf.services;
  }

  /** The operation's plan and shape, from the cache or worked out now; undefined: leave it to Apollo's executor. */
  private prepare(context: RequestContext, apiSchema: FederationSchema): PreparedOperation | undefined {
    const { document } = context;
    const key = context.request.operationName ?? '';
    let byName = this.prepared.get(document);
    const known = byName?.get(key);
    if (known && known.apiSchema === apiSchema) return known.prepared;
    // Remembered either way: an operation left to Apollo's executor is not worked out again per request.
    const prepared = this.workOut(document, context.request.operationName ?? undefined, apiSchema);
    if (!byName) {
      byName = new Map();
      this.prepared.set(document, byName);
    }
    byName.set(key, { apiSchema, prepared });
    return prepared;
  }

  private workOut(
    document: DocumentNode,
    operationName: string | undefined,
    apiSchema: FederationSchema,
  ): PreparedOperation | undefined {
    let operation: OperationDefinitionNode | undefined;
    let operations = 0;
    const fragments: Record<string, FragmentDefinitionNode> = Object.create(null);
    for (const definition of document.definitions) {
      if (definition.kind === Kind.OPERATION_DEFINITION) {
        operations++;
        if (!operationName || definition.name?.value === operationName) operation = definition;
      } else if (definition.kind === Kind.FRAGMENT_DEFINITION) {
        fragments[definition.name.value] = definition;
      }
    }
    // Apollo's executor words these errors itself, and answers introspection from the API schema.
    if (!operation || (!operationName && operations > 1) || introspects(operation, fragments)) {
      return undefined;
    }
    let queryPlan: QueryPlan;
    try {
      const planned = operationFromDocument(apiSchema, document, operationName);
      const { queryPlanner } = plannerOf(this.gateway) as unknown as {
        queryPlanner: { buildQueryPlan(operation: unknown, options: object): QueryPlan };
      };
      const limits = this.gateway as unknown as {
        recursiveSelectionsLimitDisabled?: boolean;
        nonLocalSelectionsLimitDisabled?: boolean;
      };
      queryPlan = queryPlanner.buildQueryPlan(planned, {
        recursiveSelectionsLimitDisabled: limits.recursiveSelectionsLimitDisabled,
        nonLocalSelectionsLimitDisabled: limits.nonLocalSelectionsLimitDisabled,
      });
    } catch {
      return undefined; // Apollo's executor fails the same way, with its own errors
    }
    if (queryPlan.node && !runs(queryPlan.node)) return undefined;
    const shape = operationFromDocument(
      apiSchema,
      { kind: Kind.DOCUMENT, definitions: [operation, ...Object.values(fragments)] },
      undefined,
      { validate: false },
    );
    return { apiSchema, operation, fragments, shaper: new ResultShaper(shape), queryPlan };
  }

  private async run(execution: Execution): Promise<ExecutionResult> {
    const { context, prepared, errors } = execution;
    const unfilteredData: Data = Object.create(null);
    if (prepared.queryPlan.node) {
      await executeNode(execution, prepared.queryPlan.node, {
        path: [],
        data: unfilteredData,
        fullResult: unfilteredData,
      });
    }
    let data: Data | null | undefined;
    try {
      const variables = context.request.variables;
      const shaped = prepared.shaper.shape(unfilteredData, variables);
      data = shaped.data;
      if (errors.length === 0 && shaped.errors.length > 0) {
        return { extensions: { valueCompletion: shaped.errors }, data } as ExecutionResult;
      }
    } catch (error) {
      if (error instanceof GraphQLError) return { errors: [error] };
      if (error instanceof Error) {
        return { errors: [new GraphQLError(error.message, { originalError: error })] };
      }
      return { errors: [new GraphQLError('Unexpected error during query plan execution')] };
    }
    return (errors.length === 0 ? { data } : { errors, data }) as ExecutionResult;
  }
}

/** Whether the plan has only nodes this executor runs (no Subscription, no Defer). */
function runs(node: PlanNode): boolean {
  switch (node.kind) {
    case 'Sequence':
    case 'Parallel':
      return node.nodes.every(runs);
    case 'Flatten':
      return runs(node.node);
    case 'Fetch':
      return true;
    case 'Condition':
      return (!node.ifClause || runs(node.ifClause)) && (!node.elseClause || runs(node.elseClause));
    default:
      return false;
  }
}

/** Whether the operation selects `__schema` or `__type` (answered by Apollo's executor, from the API schema). */
function introspects(operation: OperationDefinitionNode, fragments: Record<string, FragmentDefinitionNode>) {
  const seen = new Set<string>();
  const inSet = (set: SelectionSetNode): boolean =>
    set.selections.some((selection) => {
      if (selection.kind === Kind.FIELD)
        return selection.name.value === '__schema' || selection.name.value === '__type';
      if (selection.kind === Kind.INLINE_FRAGMENT) return inSet(selection.selectionSet);
      const fragment = fragments[selection.name.value];
      if (!fragment || seen.has(fragment.name.value)) return false;
      seen.add(fragment.name.value);
      return inSet(fragment.selectionSet);
    });
  return inSet(operation.selectionSet);
}

async function executeNode(execution: Execution, node: PlanNode, cursor: Cursor | undefined): Promise<void> {
  if (!cursor) return;
  switch (node.kind) {
    case 'Sequence':
      for (const child of node.nodes) await executeNode(execution, child, cursor);
      return;
    case 'Parallel':
      await Promise.all(node.nodes.map((child) => executeNode(execution, child, cursor)));
      return;
    case 'Flatten':
      await executeNode(execution, node.node, moveIntoCursor(cursor, node.path));
      return;
    case 'Fetch':
      try {
        await executeFetch(execution, node, cursor);
      } catch (error) {
        execution.errors.push(error as GraphQLError);
      }
      return;
    case 'Condition': {
      const variables = execution.context.request.variables;
      const holds = planner.evaluateCondition(
        node,
        execution.prepared.operation.variableDefinitions,
        variables,
      );
      const branch = holds ? node.ifClause : node.elseClause;
      if (branch) await executeNode(execution, branch, cursor);
      return;
    }
    default:
      throw new Error(`plan node ${node.kind} is not run here`);
  }
}

async function executeFetch(execution: Execution, fetch: FetchNode, cursor: Cursor): Promise<void> {
  const { context, services, supergraphSchema } = execution;
  const service = services[fetch.serviceName];
  if (!service) throw new Error(`Couldn't find service with name "${fetch.serviceName}"`);
  const entities = (
    Array.isArray(cursor.data) ? cursor.data.filter((e) => e != null) : [cursor.data]
  ) as Data[];
  if (entities.length < 1) return;
  const variables: Data = Object.create(null);
  const provided = context.request.variables;
  for (const name of fetch.variableUsages ?? []) {
    if (provided && Object.hasOwn(provided, name) && typeof provided[name] !== 'undefined') {
      variables[name] = provided[name];
    }
  }
  const send = async (sent: Data): Promise<Data | undefined> => {
    const response = await service.process({
      kind: INCOMING_OPERATION,
      request: {
        query: fetch.operation,
        variables: sent,
        operationName: fetch.operationName,
        http: undefined,
      },
      incomingRequestContext: context as never,
      context: context.context,
      document: fetch.operationDocumentNode,
      pathInIncomingRequest: cursor.path,
    } as never);
    if (response.errors) {
      const pathOf = lazyErrorPath(fetch, cursor);
      execution.errors.push(
        ...response.errors.map((error) => downstreamError(error, fetch.serviceName, pathOf)),
      );
      if (!response.extensions?.ftv1) {
        const paths = response.errors.map((error) => ({ subgraph: fetch.serviceName, path: error.path }));
        const metrics = context.metrics as { nonFtv1ErrorPaths?: unknown[] };
        if (metrics.nonFtv1ErrorPaths) metrics.nonFtv1ErrorPaths.push(...paths);
        else metrics.nonFtv1ErrorPaths = paths;
      }
    }
    return response.data as Data | undefined;
  };
  if (!fetch.requires) {
    const received = await send(variables);
    if (received) rewrites.applyRewrites(supergraphSchema, fetch.outputRewrites, received);
    for (const entity of entities) deepMerge(entity, received);
    return;
  }
  const representations: Data[] = [];
  const representationToEntity: number[] = [];
  entities.forEach((entity, index) => {
    const representation = selectionOf(supergraphSchema, entity, fetch.requires as readonly unknown[]);
    if (representation?.__typename) {
      rewrites.applyRewrites(supergraphSchema, fetch.inputRewrites, representation);
      representations.push(representation);
      representationToEntity.push(index);
    }
  });
  if (representations.length < 1) return;
  if ('representations' in variables) throw new Error(`Variables cannot contain key "representations"`);
  const received = await send({ ...variables, representations });
  if (!received) return;
  if (!(received._entities && Array.isArray(received._entities))) {
    throw new Error(`Expected "data._entities" in response to be an array`);
  }
  const receivedEntities = received._entities as (Data | null)[];
  if (receivedEntities.length !== representations.length) {
    throw new Error(`Expected "data._entities" to contain ${representations.length} elements`);
  }
  // As executeQueryPlan (up to entities.length, which may exceed the representations sent).
  for (let i = 0; i < entities.length; i++) {
    const receivedEntity = receivedEntities[i] as Data;
    const existing = entities[representationToEntity[i] as number] as Data;
    if (receivedEntity && !receivedEntity.__typename) receivedEntity.__typename = existing.__typename;
    rewrites.applyRewrites(supergraphSchema, fetch.outputRewrites, receivedEntity);
    deepMerge(entities[representationToEntity[i] as number], receivedEntity);
  }
}

/** executeQueryPlan's `executeSelectionSet`: the representation of an entity its `requires` selects. */
function selectionOf(schema: unknown, source: Data | null, selections: readonly unknown[]): Data | null {
  if (source === null) return null;
  const result: Data = Object.create(null);
  for (const selection of selections as { kind: string; selections?: unknown[]; typeCondition?: string }[]) {
    if (selection.kind === Kind.FIELD) {
      const responseName = planner.getResponseName(selection);
      const inner = selection.selections;
      if (!Object.hasOwn(source, responseName) || typeof source[responseName] === 'undefined') return null;
      const value = source[responseName];
      if (Array.isArray(value)) {
        result[responseName] = value.map((item) => (inner ? selectionOf(schema, item, inner) : item));
      } else if (inner) {
        result[responseName] = selectionOf(schema, value as Data, inner);
      } else {
        result[responseName] = value;
      }
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      if (!selection.typeCondition) continue;
      if (rewrites.isObjectOfType(schema, source, selection.typeCondition)) {
        deepMerge(result, selectionOf(schema, source, selection.selections ?? []));
      }
    }
  }
  return result;
}

function moveIntoCursor(cursor: Cursor, pathInCursor: (string | number)[]): Cursor | undefined {
  const data = flattenResultsAtPath(cursor.data, pathInCursor);
  return data ? { path: cursor.path.concat(pathInCursor), data, fullResult: cursor.fullResult } : undefined;
}

function flattenResultsAtPath(value: unknown, path: readonly (string | number)[]): unknown {
  if (path.length === 0) return value;
  if (value === undefined || value === null) return value;
  const [current, ...rest] = path;
  if (current === '@') return (value as unknown[]).flatMap((element) => flattenResultsAtPath(element, rest));
  if (typeof current !== 'string') throw new Error(`Unexpected ${typeof current} found in path`);
  if (Array.isArray(value)) throw new Error(`Unexpected array in result for path element ${current}`);
  const object = value as Data;
  return flattenResultsAtPath(Object.hasOwn(object, current) ? object[current] : undefined, rest);
}

function lazyErrorPath(fetch: FetchNode, cursor: Cursor) {
  let hydratedPaths: unknown[][] | undefined;
  return (errorPath: readonly (string | number)[] | undefined) => {
    if (fetch.requires && typeof errorPath?.[1] === 'number') {
      if (!hydratedPaths) {
        hydratedPaths = [];
        generateHydratedPaths([], cursor.path, cursor.fullResult, hydratedPaths);
      }
      return [...(hydratedPaths[errorPath[1]] ?? []), ...errorPath.slice(2)];
    }
    return errorPath ? [...cursor.path, ...errorPath] : undefined;
  };
}

function downstreamError(
  original: { message?: string; extensions?: Record<string, unknown>; path?: readonly (string | number)[] },
  serviceName: string,
  pathOf: ReturnType<typeof lazyErrorPath>,
): GraphQLError {
  const message = original.message || `Error while fetching subquery from service "${serviceName}"`;
  const { extensions } = original;
  const options = {
    originalError: original,
    path: pathOf(original.path),
    extensions: { ...extensions, serviceName },
  };
  const codeDef = federation.errorCodeDef(original);
  if (!codeDef && extensions?.code) return new GraphQLError(message, options as never);
  return (codeDef ?? federation.ERRORS.DOWNSTREAM_SERVICE_ERROR).err(message, options);
}

/** The gateway as Apollo Server takes it, its executor replaced by a CachedPlanExecutor over Apollo's own. */
export function withCachedPlans(
  gateway: ApolloGateway,
  /** Told the executor once it exists (the known-operations path asks it what it runs itself). */
  onExecutor?: (executor: CachedPlanExecutor) => void,
): GatewayInterface {
  return {
    load: async (options) => {
      const loaded = await gateway.load(options);
      const { executor } = loaded;
      if (!executor) return loaded;
      const cached = new CachedPlanExecutor(gateway, executor);
      onExecutor?.(cached);
      return { ...loaded, executor: cached.execute };
    },
    onSchemaLoadOrUpdate: (callback) => gateway.onSchemaLoadOrUpdate(callback),
    stop: () => gateway.stop(),
  };
}
