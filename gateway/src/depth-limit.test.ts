import { getIntrospectionQuery, Kind, type OperationDefinitionNode, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { operationDepth } from './depth-limit';

function measure(query: string) {
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

const depth = (query: string) => measure(query).fields;

/** `{ __schema { types { ofType { ofType … { name } } } } }` nested `levels` deep in all. */
function deepIntrospection(levels: number): string {
  const ofTypes = levels - 3;
  return `{ __schema { types { ${'ofType { '.repeat(ofTypes)}name${' }'.repeat(ofTypes)} } } }`;
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

  it('counts introspection apart from normal fields', () => {
    expect(measure(getIntrospectionQuery())).toEqual({ fields: 0, introspection: 15 });
    expect(measure(deepIntrospection(40))).toEqual({ fields: 0, introspection: 40 });
    expect(measure('{ __type(name: "Product") { fields { type { ofType { name } } } } }').introspection).toBe(
      5,
    );
    // __typename is an ordinary field of depth 1, not introspection.
    expect(measure('{ __typename me { __typename } }')).toEqual({ fields: 2, introspection: 0 });
  });

  it('never exempts normal fields that sit beside introspection, in fragments or inline fragments', () => {
    const deep = 'products { edges { node { price { amount } } } }';
    expect(measure(`{ __schema { queryType { name } } ${deep} }`)).toEqual({ fields: 5, introspection: 3 });
    expect(measure(`{ ...Q } fragment Q on Query { __type(name: "X") { name } ${deep} }`)).toEqual({
      fields: 5,
      introspection: 2,
    });
    expect(measure(`{ ... on Query { __schema { types { name } } } ... on Query { ${deep} } }`)).toEqual({
      fields: 5,
      introspection: 3,
    });
  });
});
