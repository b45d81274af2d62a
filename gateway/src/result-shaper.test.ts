import { createRequire } from 'node:module';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ResultShaper } from './result-shaper';

// The reference: @apollo/gateway's own computeResponse, over federation-internals' Operation (as executeQueryPlan).
const requireFromGateway = createRequire(createRequire(import.meta.url).resolve('@apollo/gateway'));
const federation = requireFromGateway('@apollo/federation-internals') as {
  buildSchema(sdl: string): unknown;
  operationFromDocument(schema: unknown, document: unknown, options?: object): unknown;
};
const { computeResponse } = requireFromGateway('@apollo/gateway/dist/resultShaping') as {
  computeResponse(options: {
    operation: unknown;
    variables: Record<string, unknown> | undefined;
    input: unknown;
    introspectionHandling: () => unknown;
  }): { data: unknown; errors: { message: string; path?: unknown }[] };
};

const schema = federation.buildSchema(`
  type Query { products(first: Int = 2): [Product!]! product(id: ID!): Product node: Node count: Int! }
  interface Node { id: ID! }
  type Product implements Node { id: ID! name: String! price: Money stock: Int tags: [String!] kind: Kind }
  type User implements Node { id: ID! email: String! }
  type Money { amount: String! currency: String! }
  enum Kind { LAMP CHAIR }
  scalar Decimal
`);

function both(query: string, input: unknown, variables?: Record<string, unknown>) {
  const operation = federation.operationFromDocument(schema, parse(query), { validate: false });
  const reference = computeResponse({ operation, variables, input, introspectionHandling: () => null });
  const shaped = new ResultShaper(operation).shape(input as Record<string, unknown>, variables);
  const view = (result: { data: unknown; errors: { message: string; path?: unknown }[] }) => ({
    data: JSON.parse(JSON.stringify(result.data ?? null)),
    errors: result.errors.map((error) => ({ message: error.message, path: error.path })),
  });
  return { reference: view(reference), shaped: view(shaped) };
}

const product = (id: string, extra: Record<string, unknown> = {}) => ({
  __typename: 'Product',
  id,
  name: `lamp ${id}`,
  price: { amount: '12.50', currency: 'EUR', extra: 'dropped' },
  stock: 3,
  tags: ['a', 'b'],
  kind: 'LAMP',
  ...extra,
});

describe('ResultShaper (computeResponse with per-operation lookups compiled once)', () => {
  const cases: [string, string, unknown, Record<string, unknown>?][] = [
    [
      'selects, aliases and drops unselected fields',
      '{ products { id title: name price { amount currency } __typename t: __typename } }',
      { products: [product('1'), product('2')] },
    ],
    [
      'bubbles a null of a non-null field up to the nearest nullable one',
      '{ product(id: "1") { id name price { amount } } count }',
      { product: product('1', { name: null }), count: 2 },
    ],
    [
      'nulls the whole answer when a non-null root field is null',
      '{ products { id name } count }',
      { products: [product('1', { name: null })], count: 1 },
    ],
    [
      'refuses invalid leaves (an Int that is a string, an unknown enum value)',
      '{ product(id: "1") { id stock kind tags } }',
      { product: product('1', { stock: 'many', kind: 'SOFA', tags: ['x', null] }) },
    ],
    [
      'honours @skip and @include, literal and by variable (with its default)',
      'query($yes: Boolean = true, $no: Boolean!) { products { id name @skip(if: $yes) stock @include(if: $no) tags @include(if: true) } }',
      { products: [product('1')] },
      { no: false },
    ],
    [
      'follows __typename through interfaces and fragments',
      '{ node { id ... on Product { name } ...U } } fragment U on User { email }',
      { node: { __typename: 'User', id: 'u1', email: 'a@example.com', name: 'not selected' } },
    ],
    [
      'refuses an unknown __typename',
      '{ node { id ... on Product { name } } }',
      { node: { __typename: 'Ghost', id: 'g1' } },
    ],
    [
      'keeps a missing nullable field as null',
      '{ product(id: "1") { id price { amount } } }',
      { product: { id: '1' } },
    ],
  ];
  for (const [name, query, input, variables] of cases) {
    it(name, () => {
      const { reference, shaped } = both(query, input, variables);
      expect(shaped).toEqual(reference);
    });
  }

  it('has cases that do produce errors and bubbled nulls (the comparison is not vacuous)', () => {
    const { shaped } = both('{ products { id name } count }', {
      products: [product('1', { name: null })],
      count: 1,
    });
    expect(shaped.data).toBeNull();
    expect(shaped.errors[0]?.message).toBe('Cannot return null for non-nullable field Product.name.');
  });
});
