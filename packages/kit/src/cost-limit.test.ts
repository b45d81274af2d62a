import { readdirSync, readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { aliasedProductPages, aliasedTotalCounts } from '@shop/testing';
import {
  buildSchema,
  type DocumentNode,
  getIntrospectionQuery,
  getOperationAST,
  Kind,
  type OperationDefinitionNode,
  parse,
} from 'graphql';
import { gql } from 'graphql-tag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  costWeights,
  defaultQueryLimits,
  measureOperation,
  queryLimitRefusal,
  queryLimitsPlugin,
  queryTooLarge,
} from './cost-limit';

const root = new URL('../../../schema/', import.meta.url);
const api = buildSchema(readFileSync(new URL('api.graphql', root), 'utf8'));

function only(document: DocumentNode): OperationDefinitionNode {
  const operation = getOperationAST(document);
  if (!operation) throw new Error('one operation expected');
  return operation;
}

function measure(query: string, variables: Record<string, unknown> = {}, schema = api) {
  const document = parse(query);
  return measureOperation(schema, document, only(document), variables);
}

function refusal(query: string, variables: Record<string, unknown> = {}, limits = defaultQueryLimits) {
  const document = parse(query);
  const error =
    queryTooLarge(query, limits) ??
    queryLimitRefusal({ schema: api, document, operation: only(document), variables }, limits);
  return error?.extensions.code;
}

describe('the default limits', () => {
  const operations = readdirSync(new URL('operations/', root)).flatMap((file) => {
    const document = parse(readFileSync(new URL(`operations/${file}`, root), 'utf8'));
    return document.definitions
      .filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)
      .map((operation) => ({ name: `${file} ${operation.name?.value}`, document, operation }));
  });

  it('let every operation of schema/operations through, with the largest pages', () => {
    expect(operations.length).toBeGreaterThan(40);
    for (const { name, document, operation } of operations) {
      for (const variables of [{}, { first: 100 }]) {
        const refused = queryLimitRefusal(
          { schema: api, document, operation, variables },
          defaultQueryLimits,
        );
        expect(refused?.message, name).toBeUndefined();
      }
    }
    const costliest = Math.max(
      ...operations.map((o) => measureOperation(api, o.document, o.operation, { first: 100 }).cost),
    );
    // Headroom: a page of 100 orders with their lines is the costliest, well under the limit.
    expect(costliest).toBeLessThan(defaultQueryLimits.maxCost * 0.75);
  });

  it("let graphql-js's introspection query through", () => {
    const query = getIntrospectionQuery();
    expect(refusal(query)).toBeUndefined();
    expect(measure(query).cost).toBeGreaterThan(costWeights.schema);
  });

  it("refuse the issue's 1,000 aliased pages of products (139 KB) at every layer", () => {
    const query = aliasedProductPages(1_000);
    expect(refusal(query)).toBe('QUERY_TOO_LARGE');
    expect(refusal(query, {}, { ...defaultQueryLimits, maxBytes: 1e6, maxRootFields: 1e6 })).toBe(
      'TOO_MANY_ALIASES',
    );
    const limits = { ...defaultQueryLimits, maxBytes: 1e6, maxRootFields: 1e6, maxAliases: 1e6 };
    expect(refusal(query, {}, limits)).toBe('QUERY_TOO_COMPLEX');
    // 1,000 × (1 + 20 for totalCount + edges: 100 × (1 + node: 1 + 7 fields)).
    expect(measure(query).cost).toBe(1_000 * (1 + 20 + 100 * (1 + 1 + 8)));
  });

  it("refuse the issue's 400 aliases of a fragment of 100 aliased totalCounts (40,000 COUNTs)", () => {
    const query = aliasedTotalCounts(400, 100);
    expect(Buffer.byteLength(query)).toBeLessThan(defaultQueryLimits.maxBytes);
    expect(measure(query)).toEqual({ cost: 400 * (1 + 100 * 20), aliases: 400 + 400 * 100, rootFields: 400 });
    expect(refusal(query)).toBe('TOO_MANY_ROOT_FIELDS');
    expect(refusal(query, {}, { ...defaultQueryLimits, maxRootFields: 1e6 })).toBe('TOO_MANY_ALIASES');
    const limits = { ...defaultQueryLimits, maxRootFields: 1e6, maxAliases: 1e6 };
    expect(refusal(query, {}, limits)).toBe('QUERY_TOO_COMPLEX');
    // Even one root field holding the fragment is refused; a totalCount per page is fine.
    expect(refusal(aliasedTotalCounts(1, 100))).toBe('TOO_MANY_ALIASES');
    expect(refusal(aliasedTotalCounts(10, 1))).toBeUndefined();
  });
});

describe('measureOperation', () => {
  it('multiplies by `first` (a literal, a variable or its default), nested lists multiplicatively', () => {
    const page = (first: string) => `{ products${first} { edges { node { id } } } }`;
    expect(measure(page('(first: 5)')).cost).toBe(1 + 5 * 3);
    expect(measure('query($n: Int) { products(first: $n) { edges { node { id } } } }', { n: 7 }).cost).toBe(
      1 + 7 * 3,
    );
    expect(measure('query($n: Int = 3) { products(first: $n) { edges { node { id } } } }').cost).toBe(
      1 + 3 * 3,
    );
    // No `first`: the default page; more than the largest page counts as the largest page.
    expect(measure(page('')).cost).toBe(1 + costWeights.defaultPageSize * 3);
    expect(measure(page('(first: 100000)')).cost).toBe(1 + costWeights.maxPageSize * 3);
    // A list inside a page (an order's lines) multiplies again, by the default list size.
    const lines = measure('{ orders(first: 10) { edges { node { items { sku } } } } }').cost;
    expect(lines).toBe(1 + 10 * (1 + 1 + costWeights.defaultListSize * 2));
  });

  it('prices totalCount as a COUNT query and counts pageInfo once per page, not per item', () => {
    expect(measure('{ products(first: 100) { totalCount } }').cost).toBe(1 + costWeights.count);
    expect(measure('{ products(first: 100) { pageInfo { hasNextPage } } }').cost).toBe(1 + 2);
  });

  it('expands fragments and inline fragments where they are spread, and counts aliases', () => {
    const viaFragments =
      measure(`{ a: products(first: 2) { ...P } b: products(first: 3) { ... on ProductConnection { ...P } } }
      fragment P on ProductConnection { edges { node { x: id y: name } } }`);
    // The fragment is sized by the page it is spread in.
    expect(viaFragments.cost).toBe(1 + 2 * 4 + (1 + 3 * 4));
    expect(viaFragments.aliases).toBe(2 + 2 * 2);
    expect(viaFragments.rootFields).toBe(2);
  });

  it('stays linear on fragments spread exponentially often and terminates on a cycle', () => {
    const levels = 40;
    // Each fragment spreads the next twice: 2^39 ids once expanded.
    const fragments = Array.from({ length: levels }, (_, i) =>
      i + 1 < levels
        ? `fragment F${i} on Product { ...F${i + 1} ... on Product { ...F${i + 1} } }`
        : `fragment F${i} on Product { id }`,
    ).join('\n');
    const started = performance.now();
    const { cost } = measure(`{ product(id: "1") { ...F0 } } ${fragments}`);
    expect(cost).toBe(1 + 2 ** (levels - 1));
    expect(performance.now() - started).toBeLessThan(1_000); // exponential would never finish
    const cycle = measure(
      '{ product(id: "1") { ...A } } fragment A on Product { id ...B } fragment B on Product { name ...A }',
    );
    expect(cycle.cost).toBe(3);
    expect(measure('{ ...R } fragment R on Query { ...R me { id } }').rootFields).toBe(1);
  });

  it('prices introspection flat, with a fixed price for the whole schema', () => {
    expect(measure('{ __schema { types { name fields { name } } } }').cost).toBe(costWeights.schema + 4);
    expect(measure('{ __type(name: "Product") { name } }').cost).toBe(costWeights.type + 1);
    expect(measure('{ __typename a: __typename }')).toEqual({ cost: 0, aliases: 1, rootFields: 2 });
  });

  it("sizes a subgraph's _entities by its representations", () => {
    const schema = buildSubgraphSchema({
      typeDefs: gql`
        type Product @key(fields: "id") { id: ID! name: String! }
        type Query { product(id: ID!): Product }
      `,
    });
    const query = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id name } } }';
    const representations = Array.from({ length: 250 }, (_, i) => ({ __typename: 'Product', id: String(i) }));
    expect(measure(query, { r: representations }, schema).cost).toBe(250 * 3);
    expect(
      measure(
        '{ _entities(representations: [{ __typename: "Product", id: "1" }]) { __typename } }',
        {},
        schema,
      ).cost,
    ).toBe(1);
  });

  it('measures fields the schema lacks as one each (the websocket path measures before validating)', () => {
    expect(measure('{ nope { a b } products(first: 2) { edges { zz } } }').cost).toBe(3 + 1 + 2 * 2);
  });
});

describe('queryLimitsPlugin', () => {
  const server = new ApolloServer<{ signed?: boolean }>({
    typeDefs: 'type Query { items(first: Int): [Int!]! }',
    resolvers: {
      Query: {
        items: (_: unknown, args: { first?: number }) => Array.from({ length: args.first ?? 1 }, (_, i) => i),
      },
    },
    plugins: [
      queryLimitsPlugin<{ signed?: boolean }>(
        { maxCost: 50, maxAliases: 2, maxRootFields: 3, maxBytes: 200 },
        { trusted: (context) => context.signed === true },
      ),
    ],
  });
  beforeAll(() => server.start());
  afterAll(() => server.stop());

  it.each<[string, string | undefined, Record<string, unknown>?]>([
    ['{ items(first: 40) }', undefined],
    ['query($n: Int) { items(first: $n) }', 'QUERY_TOO_COMPLEX', { n: 60 }],
    ['{ a: items b: items c: items }', 'TOO_MANY_ALIASES'],
    ['{ items a: items b: items __typename }', 'TOO_MANY_ROOT_FIELDS'],
    [`{ items } # ${'x'.repeat(200)}`, 'QUERY_TOO_LARGE'],
  ])('%s: %s', async (query, code, variables = {}) => {
    const response = await server.executeOperation({ query, variables });
    if (response.body.kind !== 'single') throw new Error('single result expected');
    const { errors, data } = response.body.singleResult;
    expect(errors?.[0]?.extensions?.code).toBe(code);
    if (code) {
      // Refused before execution, as a client's mistake.
      expect(response.http.status).toBe(400);
      expect(data).toBeUndefined();
    } else {
      expect(data).toEqual({ items: Array.from({ length: 40 }, (_, i) => i) });
    }
  });

  it('holds a trusted request (signed by our gateway) to the size limit only', async () => {
    const run = (query: string) => server.executeOperation({ query }, { contextValue: { signed: true } });
    const costly = await run('{ a: items(first: 60) b: items c: items d: items }');
    if (costly.body.kind !== 'single') throw new Error('single result expected');
    expect(costly.body.singleResult.errors).toBeUndefined();
    const large = await run(`{ items } # ${'x'.repeat(200)}`);
    if (large.body.kind !== 'single') throw new Error('single result expected');
    expect(large.body.singleResult.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_LARGE');
  });
});
