import { buildSubgraphSchema } from '@apollo/subgraph';
import {
  buildSchema,
  GraphQLError,
  type GraphQLFormattedError,
  getVariableValues,
  Kind,
  type OperationDefinitionNode,
  parse,
  validate,
} from 'graphql';
import { gql } from 'graphql-tag';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  applyKitScalars,
  badUserInput,
  clientErrorOf,
  createdAtCursor,
  documentHasNul,
  encodeCursor,
  entityTypesOf,
  findNul,
  formatError,
  readPage,
  representationProblem,
} from '../src';

const silent = pino({ level: 'silent' });

describe('formatError', () => {
  const format = (error: GraphQLError) => formatError(silent, error.toJSON(), error);

  it('keeps a coded error but drops what the gateway says about a subgraph', () => {
    const error = new GraphQLError('You must be signed in', {
      extensions: {
        code: 'UNAUTHENTICATED',
        serviceName: 'users',
        response: { url: 'http://localhost:4001/graphql', status: 401, body: '<html>' },
        exception: { stacktrace: ['Error: x', '    at f (/work/main/a.ts:1:1)'] },
      },
    });
    expect(format(error)).toEqual({
      message: 'You must be signed in',
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });

  it('drops any extension that holds an address or a path, keeps the rest', () => {
    const error = new GraphQLError('Bad input', {
      extensions: {
        code: 'BAD_USER_INPUT',
        field: 'price',
        where: 'postgresql://db:5432/x',
        file: '/work/main/x.ts',
      },
    });
    expect(format(error).extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'price' });
  });

  it('masks an uncoded error whose message names our insides', () => {
    for (const message of [
      'request to http://127.0.0.1:4002/graphql failed, reason: connect ECONNREFUSED',
      'Cannot find module /work/main/node_modules/x/index.js',
      'Invalid `prisma.product.findMany()` invocation',
    ]) {
      expect(format(new GraphQLError(message))).toEqual({
        message: 'Internal server error',
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      });
    }
  });

  it('masks what a resolver threw unless it is coded', () => {
    const thrown = new GraphQLError('x', { path: ['a'], originalError: new Error('SELECT * FROM users') });
    expect(format(thrown)).toEqual({
      message: 'Internal server error',
      path: ['a'],
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    const coded = new GraphQLError('wrapped', { path: ['a'], originalError: badUserInput('first is wrong') });
    expect(format(coded)).toMatchObject({
      message: 'first is wrong',
      extensions: { code: 'BAD_USER_INPUT' },
    });
  });

  it('reports a literal refused by a scalar as BAD_USER_INPUT, like a refused variable', () => {
    const scalarError = new GraphQLError('Decimal must be a string such as "99.99"', {
      extensions: { code: 'BAD_USER_INPUT' },
    });
    // What Apollo makes of a validation error (its ValidationError class).
    const validation = new GraphQLError(scalarError.message, {
      originalError: scalarError,
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });
    const formatted: GraphQLFormattedError = validation.toJSON();
    expect(formatError(silent, formatted, validation).extensions).toEqual({ code: 'BAD_USER_INPUT' });
  });
});

describe('clientErrorOf', () => {
  it('maps body-parser errors to statuses and codes, and leaves others to the 500 handler', () => {
    expect(clientErrorOf({ type: 'entity.parse.failed', body: '{' })).toMatchObject({
      status: 400,
      code: 'BAD_REQUEST',
      message: 'The request body is not valid JSON',
    });
    expect(clientErrorOf({ type: 'entity.parse.failed', body: 'null' })).toMatchObject({
      status: 400,
      message: expect.stringContaining('must be a JSON object'),
    });
    expect(clientErrorOf({ type: 'entity.too.large' })).toMatchObject({
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    });
    expect(clientErrorOf({ type: 'charset.unsupported' })).toMatchObject({
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    });
    expect(clientErrorOf({ type: 'encoding.unsupported' })).toMatchObject({ status: 415 });
    expect(clientErrorOf(Object.assign(new URIError('Failed to decode'), { status: 400 }))).toMatchObject({
      status: 400,
      code: 'BAD_REQUEST',
      message: 'Bad request',
    });
    expect(clientErrorOf(new Error('boom'))).toBeUndefined();
    expect(clientErrorOf({ status: 503 })).toBeUndefined();
  });
});

describe('NUL detection', () => {
  it('finds a NUL in any string or key of a JSON value, with its path', () => {
    expect(findNul({ a: ['ok', { b: 'x\u0000' }] })).toEqual(['a', 1, 'b']);
    expect(findNul({ 'k\u0000': 1 })).toEqual(['k\u0000']);
    expect(findNul({ a: ['ok', 1, null, true, { b: 'é\t' }] })).toBeUndefined();
  });

  it('finds a NUL in string literals of a document', () => {
    expect(documentHasNul(parse('{ a(b: "x\\u0000") }'))).toBe(true);
    expect(documentHasNul(parse('query($v: String = "\\u0000") { a(b: $v) }'))).toBe(true);
    expect(documentHasNul(parse('{ a(b: { c: ["\\u0000"] }) @d(e: "f") }'))).toBe(true);
    expect(documentHasNul(parse('{ a(b: "x\\u0001") }'))).toBe(false);
  });
});

describe('_entities representations', () => {
  const schema = buildSubgraphSchema({
    typeDefs: gql`
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
      type User @key(fields: "id") @key(fields: "email") {
        id: ID!
        email: String!
      }
      type Line @key(fields: "order { id } position") {
        order: Order!
        position: Int!
      }
      type Order {
        id: ID!
      }
      type Query {
        x: Int
      }
    `,
  });
  const entities = entityTypesOf(schema);

  it('reads entity types and their keys from @key directives', () => {
    expect([...entities.keys()].sort()).toEqual(['Line', 'User']);
    expect(entities.get('User')?.keys).toHaveLength(2);
  });

  it('accepts a representation that fills any one key', () => {
    expect(representationProblem(entities, { __typename: 'User', id: 'u1' })).toBeUndefined();
    expect(representationProblem(entities, { __typename: 'User', email: 'a@b.c' })).toBeUndefined();
    expect(
      representationProblem(entities, { __typename: 'Line', order: { id: 'o1' }, position: 2 }),
    ).toBeUndefined();
  });

  it.each([
    [{ __typename: 'User' }],
    [{ __typename: 'User', id: null }],
    [{ __typename: 'User', id: 1 }],
    [{ __typename: 'User', id: ['u1'] }],
    [{ __typename: 'Order', id: 'o1' }],
    [{ __typename: 'Nope', id: 'u1' }],
    [{ __typename: 5, id: 'u1' }],
    [{ __typename: 'Line', order: { id: 'o1' }, position: 1.5 }],
    [{ __typename: 'Line', order: 'o1', position: 1 }],
    ['User:u1'],
    [null],
    [['User', 'u1']],
  ])('refuses %j', (representation) => {
    expect(representationProblem(entities, representation)).toEqual(expect.any(String));
  });
});

describe('timestamp cursors', () => {
  const id = '5f0c7a4e-8d1b-4c3a-9e2f-1a2b3c4d5e6f';
  const read = (createdAt: string) => () =>
    readPage({ after: encodeCursor([createdAt, id]) }, createdAtCursor);

  it.each(['0000-01-01T00:00:00.000Z', '1969-12-31T23:59:59.999Z', '0001-01-01T00:00:00.000Z'])(
    'refuses one at %s with BAD_USER_INPUT',
    (createdAt) => {
      expect(read(createdAt)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    },
  );

  it('accepts one between 1970 and 9999', () => {
    expect(read('2026-02-01T09:30:00.000Z')().after).toEqual(['2026-02-01T09:30:00.000Z', id]);
    expect(read('9999-12-31T23:59:59.999Z')().after?.[0]).toBe('9999-12-31T23:59:59.999Z');
  });
});

describe('applyKitScalars', () => {
  // What a gateway builds from the supergraph SDL: custom scalars known only by name.
  const schema = buildSchema(`
    scalar Decimal
    scalar DateTime
    type Query {
      at(price: Decimal, since: DateTime): Int
    }
  `);
  applyKitScalars(schema);

  const literalErrors = (args: string) => validate(schema, parse(`{ at(${args}) }`));
  const variableErrors = (variables: Record<string, unknown>) => {
    const operation = parse('query($p: Decimal, $s: DateTime) { at(price: $p, since: $s) }')
      .definitions[0] as OperationDefinitionNode;
    expect(operation.kind).toBe(Kind.OPERATION_DEFINITION);
    return getVariableValues(schema, operation.variableDefinitions ?? [], variables).errors ?? [];
  };

  it('refuses invalid Decimal and DateTime literals with BAD_USER_INPUT', () => {
    for (const args of ['price: "1e3"', 'price: 1.5', 'since: "0000-01-01T00:00:00Z"', 'since: "soon"']) {
      const errors = literalErrors(args);
      expect(errors, args).toHaveLength(1);
      expect(errors[0]?.extensions.code, args).toBe('BAD_USER_INPUT');
    }
    expect(literalErrors('price: "12.50", since: "2026-02-01T09:30:00Z"')).toEqual([]);
  });

  it('refuses invalid variables', () => {
    expect(variableErrors({ p: '1e3' })).toHaveLength(1);
    expect(variableErrors({ s: '10000-01-01T00:00:00Z' })).toHaveLength(1);
    expect(variableErrors({ p: '99.99', s: '2026-02-01T09:30:00.000Z' })).toEqual([]);
  });
});
