import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLError,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
  getNamedType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  valueFromASTUntyped,
} from 'graphql';
import { requestError } from './errors';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination';

/** What one operation may ask for; over any of them the whole request is refused (400) before it executes. */
export interface QueryLimits {
  /** Highest cost (see `measureOperation`): QUERY_TOO_COMPLEX above it. */
  maxCost: number;
  /** Most aliased fields, counted with every fragment spread expanded: TOO_MANY_ALIASES above it. */
  maxAliases: number;
  /** Most root fields (aliases included, fragments expanded): TOO_MANY_ROOT_FIELDS above it. */
  maxRootFields: number;
  /** Largest query text in bytes (UTF-8; variables are not counted): QUERY_TOO_LARGE above it. */
  maxBytes: number;
}

/**
 * The defaults of the gateway and every subgraph. The costliest operation of schema/operations (a page of 100
 * orders with their lines) costs about 17,000; the abuse queries cost millions. A gateway fetch of a
 * subgraph's entities is priced per representation, so it stays under the same limit as the client's operation.
 */
export const defaultQueryLimits: Readonly<QueryLimits> = {
  maxCost: 25_000,
  maxAliases: 30,
  maxRootFields: 15,
  maxBytes: 32 * 1024,
};

/** The prices of the cost model (documented in packages/kit/README.md, "Limits"). */
export const costWeights = {
  /** Any field, once per item it is resolved for. */
  field: 1,
  /** A `totalCount`: a COUNT over the whole filtered table. */
  count: 20,
  /** `__typename` (the gateway adds it everywhere; it is free to resolve). */
  typename: 0,
  /** `__schema`: the whole schema, whatever is selected (plus one per selected field, lists not multiplied). */
  schema: 5_000,
  /** `__type(name:)`: one type (plus one per selected field, lists not multiplied). */
  type: 100,
  /** A list without `first` (an order's lines, a payment's refunds). */
  defaultListSize: 10,
  /** A connection's page without `first` (what readPage gives). */
  defaultPageSize: DEFAULT_PAGE_SIZE,
  /** `first` counts up to this (a larger one is refused by readPage anyway). */
  maxPageSize: MAX_PAGE_SIZE,
} as const;

export interface OperationMeasure {
  cost: number;
  aliases: number;
  rootFields: number;
}

interface Sum {
  cost: number;
  aliases: number;
}

type Variables = Record<string, unknown>;

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  return fragments;
}

function fieldsOf(type: GraphQLNamedType | undefined): Record<string, GraphQLField<unknown, unknown>> {
  return type && (isObjectType(type) || isInterfaceType(type)) ? type.getFields() : {};
}

function isList(type: GraphQLOutputType): boolean {
  return isListType(isNonNullType(type) ? type.ofType : type);
}

/**
 * Measures an operation against a schema, with its variables (a `first: $first` counts what the variable holds):
 * - every field costs 1 for each item it is resolved for; `totalCount` costs 20 (a COUNT query), `__typename` 0;
 * - a list multiplies everything below it by its size: a connection's `first` (default 20, at most 100) for the
 *   lists directly in its selection (`edges`, `nodes`), the number of `representations` for `_entities`, else 10;
 * - `__schema` costs 5,000 and `__type` 100, plus one per field selected inside (introspection is read from
 *   memory; its lists are not multiplied);
 * - fragments and inline fragments are expanded where they are spread (each fragment is measured once per page
 *   size, so spreading one many times costs linear time; a cycle counts nothing), every alias is counted, and
 *   fields unknown to the schema cost 1 (the websocket path measures before validating).
 */
export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Variables | null | undefined,
): OperationMeasure {
  const fragments = fragmentsOf(document);
  const values: Variables = {};
  for (const definition of operation.variableDefinitions ?? []) {
    if (definition.defaultValue) {
      values[definition.variable.name.value] = valueFromASTUntyped(definition.defaultValue);
    }
  }
  Object.assign(values, variables ?? {});

  const argument = (field: FieldNode, name: string): unknown => {
    const node = field.arguments?.find((arg) => arg.name.value === name)?.value;
    if (!node) return undefined;
    if (node.kind === Kind.VARIABLE) return values[node.name.value];
    return valueFromASTUntyped(node, values);
  };
  const pageSize = (field: FieldNode): number => {
    const first = argument(field, 'first');
    if (typeof first !== 'number' || !Number.isFinite(first)) return costWeights.defaultPageSize;
    return Math.min(Math.max(Math.trunc(first), 0), costWeights.maxPageSize);
  };

  const remembered = new Map<string, Sum>();
  const visiting = new Set<string>();

  /** `page`: the size of the lists directly in this selection (set by a connection's `first`). */
  const measure = (
    set: SelectionSetNode,
    parent: GraphQLNamedType | undefined,
    page: number | undefined,
    flat: boolean,
  ): Sum => {
    const sum: Sum = { cost: 0, aliases: 0 };
    const add = (inner: Sum, times = 1) => {
      sum.cost += inner.cost * times;
      sum.aliases += inner.aliases * times;
    };
    for (const selection of set.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        add(measure(selection.selectionSet, type ?? undefined, page, flat));
      } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const name = selection.name.value;
        const key = `${name}|${page ?? ''}|${flat ? 'flat' : ''}`;
        let inner = remembered.get(key);
        const fragment = fragments.get(name);
        if (inner === undefined && fragment && !visiting.has(name)) {
          visiting.add(name);
          const type = schema.getType(fragment.typeCondition.name.value) ?? undefined;
          inner = measure(fragment.selectionSet, type, page, flat);
          visiting.delete(name);
          remembered.set(key, inner);
        }
        if (inner) add(inner);
      } else {
        add(measureField(selection, parent, page, flat));
      }
    }
    return sum;
  };

  const measureField = (
    field: FieldNode,
    parent: GraphQLNamedType | undefined,
    page: number | undefined,
    flat: boolean,
  ): Sum => {
    const name = field.name.value;
    const alias = field.alias ? 1 : 0;
    if (name === '__typename') return { cost: costWeights.typename, aliases: alias };
    if (!flat && (name === '__schema' || name === '__type')) {
      const inner = field.selectionSet ? measure(field.selectionSet, undefined, undefined, true) : undefined;
      const own = name === '__schema' ? costWeights.schema : costWeights.type;
      return { cost: own + (inner?.cost ?? 0), aliases: alias + (inner?.aliases ?? 0) };
    }
    const definition = fieldsOf(parent)[name];
    const own = name === 'totalCount' && !flat ? costWeights.count : costWeights.field;
    let size = 1;
    if (!flat && definition && isList(definition.type)) {
      const representations = name === '_entities' ? argument(field, 'representations') : undefined;
      if (Array.isArray(representations)) size = representations.length;
      else if (page !== undefined) size = page;
      else if (definition.args.some((arg) => arg.name === 'first')) size = pageSize(field);
      else size = costWeights.defaultListSize;
    }
    // A connection (a field taking `first` that is not itself a list) sizes the lists directly inside it.
    const isConnection =
      !flat &&
      definition !== undefined &&
      !isList(definition.type) &&
      definition.args.some((a) => a.name === 'first');
    const inner = field.selectionSet
      ? measure(
          field.selectionSet,
          definition ? getNamedType(definition.type) : undefined,
          isConnection ? pageSize(field) : undefined,
          flat,
        )
      : { cost: 0, aliases: 0 };
    // Aliases are counted in the text as sent (fragments expanded), not per item.
    return { cost: size * (own + inner.cost), aliases: alias + inner.aliases };
  };

  const rootCounts = new Map<string, number>();
  const rootFields = (set: SelectionSetNode): number => {
    let count = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) count += 1;
      else if (selection.kind === Kind.INLINE_FRAGMENT) count += rootFields(selection.selectionSet);
      else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (!rootCounts.has(name) && fragment && !visiting.has(name)) {
          visiting.add(name);
          rootCounts.set(name, rootFields(fragment.selectionSet));
          visiting.delete(name);
        }
        count += rootCounts.get(name) ?? 0;
      }
    }
    return count;
  };

  const root = schema.getRootType(operation.operation) ?? undefined;
  const total = measure(operation.selectionSet, root, undefined, false);
  return { cost: total.cost, aliases: total.aliases, rootFields: rootFields(operation.selectionSet) };
}

/** QUERY_TOO_LARGE (400) when the query text is longer than `maxBytes`, before anything parses it. */
export function queryTooLarge(
  query: unknown,
  limits: Pick<QueryLimits, 'maxBytes'>,
): GraphQLError | undefined {
  if (typeof query !== 'string' || query.length <= limits.maxBytes / 3) return undefined; // cannot be too large
  const bytes = Buffer.byteLength(query);
  if (bytes <= limits.maxBytes) return undefined;
  return requestError('QUERY_TOO_LARGE', `The query is ${bytes} bytes; the limit is ${limits.maxBytes}`, {
    extensions: { bytes, maxBytes: limits.maxBytes },
  });
}

// Apollo keeps one parsed document per query text, so a repeated operation is measured once per distinct value
// of the variables it reads for sizes (the gateway's entity fetches differ only in how many representations).
const measured = new WeakMap<OperationDefinitionNode, Map<string, OperationMeasure>>();
const MEASURES_PER_OPERATION = 32;

function measureCached(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Variables | null | undefined,
): OperationMeasure {
  let byVariables = measured.get(operation);
  if (!byVariables) {
    byVariables = new Map();
    measured.set(operation, byVariables);
  }
  // Only sizes matter: an array by its length, anything else by its value.
  const key = JSON.stringify(variables ?? {}, (_key, value) =>
    Array.isArray(value) && _key !== '' ? value.length : value,
  );
  const cachedKey = key.length <= 1024 ? key : undefined;
  const cached = cachedKey === undefined ? undefined : byVariables.get(cachedKey);
  if (cached) return cached;
  const measure = measureOperation(schema, document, operation, variables);
  if (cachedKey !== undefined) {
    if (byVariables.size >= MEASURES_PER_OPERATION) byVariables.clear();
    byVariables.set(cachedKey, measure);
  }
  return measure;
}

/**
 * The coded refusal (400) of an operation over the limits, or undefined: TOO_MANY_ROOT_FIELDS,
 * TOO_MANY_ALIASES, then QUERY_TOO_COMPLEX, each with the measured number and the limit in its extensions.
 */
export function queryLimitRefusal(
  request: {
    schema: GraphQLSchema;
    document: DocumentNode;
    operation: OperationDefinitionNode;
    variables?: Variables | null | undefined;
  },
  limits: QueryLimits,
): GraphQLError | undefined {
  const { cost, aliases, rootFields } = measureCached(
    request.schema,
    request.document,
    request.operation,
    request.variables,
  );
  if (rootFields > limits.maxRootFields) {
    return requestError(
      'TOO_MANY_ROOT_FIELDS',
      `The operation selects ${rootFields} root fields; the limit is ${limits.maxRootFields}`,
      { extensions: { rootFields, maxRootFields: limits.maxRootFields } },
    );
  }
  if (aliases > limits.maxAliases) {
    return requestError(
      'TOO_MANY_ALIASES',
      `The operation has ${aliases} aliases; the limit is ${limits.maxAliases}`,
      { extensions: { aliases, maxAliases: limits.maxAliases } },
    );
  }
  if (cost > limits.maxCost) {
    return requestError(
      'QUERY_TOO_COMPLEX',
      `The operation costs ${cost}; the limit is ${limits.maxCost} (lists count as many times as their size)`,
      { extensions: { cost, maxCost: limits.maxCost } },
    );
  }
  return undefined;
}

/**
 * Refuses, before execution, an operation over the limits (see queryLimitRefusal and queryTooLarge). Installed
 * on the gateway and every subgraph; their websocket paths call the same two functions. A request `trusted`
 * says came from our gateway (signed) is held to the size limit only: the gateway measured the client's
 * operation, and its entity fetches are sized by the data (a page of orders' lines), not by the client.
 */
export function queryLimitsPlugin<TContext extends BaseContext>(
  limits: QueryLimits,
  options: { trusted?: (context: TContext) => boolean } = {},
): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, operation, schema, contextValue }) {
          if (!operation) return; // requestGuardsPlugin refuses it
          const tooLarge = queryTooLarge(request.query, limits);
          if (tooLarge) throw tooLarge;
          if (options.trusted?.(contextValue)) return;
          const refusal = queryLimitRefusal(
            { schema, document, operation, variables: request.variables },
            limits,
          );
          if (refusal) throw refusal;
        },
      };
    },
  };
}
