import { Kind, type OperationDefinitionNode, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { operationDepth } from './depth-limit';

function depth(query: string): number {
  const document = parse(query);
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  const fragments = new Map(
    document.definitions.flatMap((d) =>
      d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [],
    ),
  );
  if (!operation) throw new Error('no operation');
  return operationDepth(operation.selectionSet, fragments);
}

describe('operationDepth', () => {
  it('counts fields through inline fragments and fragment spreads', () => {
    expect(depth('{ me { id } }')).toBe(2);
    expect(depth('{ products { edges { node { ...P } } } } fragment P on Product { price { amount } }')).toBe(
      5,
    );
    expect(depth('{ products { ... on ProductConnection { edges { cursor } } } }')).toBe(3);
  });

  it('stays linear when fragments spread each other many times', () => {
    // Each fragment spreads the next twice: a traversal without memory would take 2^40 steps and never end.
    const fragments = Array.from({ length: 40 }, (_, i) =>
      i === 39
        ? `fragment F${i} on Query { me { id } }`
        : `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`,
    ).join('\n');
    expect(depth(`{ ...F0 } ${fragments}`)).toBe(2);
  });
});
