import type { ApolloServerPlugin } from '@apollo/server';
import { requestError } from '@shop/kit';
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

/** How deep an operation nests: its own fields, and selections inside introspection (`__schema`, `__type`). */
export interface OperationDepth {
  /** The deepest nesting of fields outside introspection. */
  fields: number;
  /** The deepest nesting of a path through `__schema` or `__type`, counted from the root like any other. */
  introspection: number;
}

const introspectionRoots = new Set(['__schema', '__type']);

/**
 * The deepest field nesting of a selection set, outside and inside introspection. Each fragment's depth is
 * computed once and remembered, so a query whose fragments spread each other many times costs linear time, not
 * exponential. (Validation has already refused fragment cycles; the `visiting` guard only keeps this total.)
 */
export function operationDepth(
  selectionSet: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
): OperationDepth {
  const remembered = new Map<string, OperationDepth>();
  const visiting = new Set<string>();
  const depthOf = (set: SelectionSetNode | undefined): OperationDepth => {
    const deepest: OperationDepth = { fields: 0, introspection: 0 };
    const include = (inner: OperationDepth, levels: number) => {
      deepest.fields = Math.max(deepest.fields, inner.fields + levels);
      if (inner.introspection > 0) {
        deepest.introspection = Math.max(deepest.introspection, inner.introspection + levels);
      }
    };
    if (!set) return deepest;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const inner = depthOf(selection.selectionSet);
        if (introspectionRoots.has(selection.name.value)) {
          // Everything below counts against the introspection limit; nothing below is a normal field.
          const whole = 1 + Math.max(inner.fields, inner.introspection);
          deepest.introspection = Math.max(deepest.introspection, whole);
        } else {
          include(inner, 1);
        }
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        include(depthOf(selection.selectionSet), 0);
      } else {
        const name = selection.name.value;
        let depth = remembered.get(name);
        if (depth === undefined && !visiting.has(name)) {
          visiting.add(name);
          depth = depthOf(fragments.get(name)?.selectionSet);
          visiting.delete(name);
          remembered.set(name, depth);
        }
        if (depth) include(depth, 0);
      }
    }
    return deepest;
  };
  return depthOf(selectionSet);
}

/**
 * Refuses operations nested deeper than `maxDepth` (a cheap guard against abusive queries). Selections under
 * `__schema`/`__type` are held to `maxIntrospectionDepth` instead, so Apollo Sandbox and graphql-js's
 * getIntrospectionQuery() (15 deep) load the schema while a deliberately deep introspection query is refused.
 */
export function depthLimitPlugin(maxDepth: number, maxIntrospectionDepth = 20): ApolloServerPlugin {
  // Depth depends only on the document: Apollo Server hands the same DocumentNode for the same query text.
  const depths = new WeakMap<DocumentNode, Map<OperationDefinitionNode, OperationDepth>>();
  const depthOf = (document: DocumentNode, operation: OperationDefinitionNode): OperationDepth => {
    let byOperation = depths.get(document);
    if (!byOperation) {
      byOperation = new Map();
      depths.set(document, byOperation);
    }
    let depth = byOperation.get(operation);
    if (!depth) {
      const fragments = new Map(
        document.definitions
          .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
          .map((d) => [d.name.value, d]),
      );
      depth = operationDepth(operation.selectionSet, fragments);
      byOperation.set(operation, depth);
    }
    return depth;
  };
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation }) {
          if (!operation) return;
          const depth = depthOf(document, operation);
          if (depth.fields > maxDepth) {
            throw requestError(
              'BAD_USER_INPUT',
              `Query is nested ${depth.fields} levels deep; the limit is ${maxDepth}`,
            );
          }
          if (depth.introspection > maxIntrospectionDepth) {
            throw requestError(
              'BAD_USER_INPUT',
              `Introspection is nested ${depth.introspection} levels deep; the limit is ${maxIntrospectionDepth}`,
            );
          }
        },
      };
    },
  };
}
