import type { ApolloServerPlugin } from '@apollo/server';
import { type FragmentDefinitionNode, GraphQLError, Kind, type SelectionSetNode } from 'graphql';

/**
 * The deepest field nesting of a selection set. Each fragment's depth is computed once and remembered, so a
 * query whose fragments spread each other many times costs linear time, not exponential. (Validation has
 * already refused fragment cycles; the `visiting` guard only keeps this function total.)
 */
export function operationDepth(
  selectionSet: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
): number {
  const fragmentDepth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (set: SelectionSetNode | undefined): number => {
    if (!set) return 0;
    let deepest = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        deepest = Math.max(deepest, 1 + depthOf(selection.selectionSet));
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        deepest = Math.max(deepest, depthOf(selection.selectionSet));
      } else {
        const name = selection.name.value;
        let depth = fragmentDepth.get(name);
        if (depth === undefined && !visiting.has(name)) {
          visiting.add(name);
          depth = depthOf(fragments.get(name)?.selectionSet);
          visiting.delete(name);
          fragmentDepth.set(name, depth);
        }
        deepest = Math.max(deepest, depth ?? 0);
      }
    }
    return deepest;
  };
  return depthOf(selectionSet);
}

/** Refuses operations nested deeper than `maxDepth` (a cheap guard against abusive queries). */
export function depthLimitPlugin(maxDepth: number): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation }) {
          if (!operation) return;
          const fragments = new Map(
            document.definitions
              .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
              .map((d) => [d.name.value, d]),
          );
          const depth = operationDepth(operation.selectionSet, fragments);
          if (depth > maxDepth) {
            throw new GraphQLError(`Query is nested ${depth} levels deep; the limit is ${maxDepth}`, {
              extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
            });
          }
        },
      };
    },
  };
}
