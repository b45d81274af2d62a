import { badRequestBodies, expectNoLeak, rawPost } from '@shop/testing';
import { gql } from 'graphql-tag';
import { createClient } from 'graphql-ws';
import { exportSPKI, generateKeyPair } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  DateTimeScalar,
  DecimalScalar,
  type RequestContext,
  type RunningSubgraph,
  startSubgraphServer,
  TokenVerifier,
} from '../src';

// A careless or hostile client, against the kit's subgraph server: every mistake is a coded JSON error with a
// 4xx status, and nothing in any answer tells about our insides.

const typeDefs = gql`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  scalar Decimal
  scalar DateTime
  type Thing @key(fields: "id") {
    id: ID!
    name: String
  }
  type Part @key(fields: "sku maker { code }") {
    sku: String!
    maker: Maker!
  }
  type Maker {
    code: Int!
  }
  input Filter {
    text: String
    tags: [String!]
  }
  type Query {
    search(text: String, filter: Filter): Int
    price(amount: Decimal!): Decimal
    since(at: DateTime!): DateTime
    explode: Int
  }
  type Subscription {
    ticks(label: String): Int
  }
`;

/** What must never be in an answer: an address, a path, a stack frame, an error class, SQL. */

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

async function send(url: string, init: RequestInit): Promise<Answer> {
  const response = await fetch(url, init);
  const text = await response.text();
  expect(response.headers.get('content-type'), text).toMatch(/^application\/(graphql-response\+)?json/);
  return { status: response.status, headers: response.headers, text, body: JSON.parse(text) };
}

/** Sends, then checks the shape every refusal has: JSON errors with this status and code, and no leak. */
async function expectRefused(url: string, init: RequestInit, status: number, code: string): Promise<Answer> {
  const answer = await send(url, init);
  expect(answer.status, answer.text).toBe(status);
  expect(answer.body.errors?.[0]?.extensions?.code, answer.text).toBe(code);
  expect(answer.body.errors?.[0]?.message).toEqual(expect.any(String));
  expectNoLeak(answer.text);
  return answer;
}

const json = { 'content-type': 'application/json' };
const post = rawPost;
const graphql = (query: string, variables?: Record<string, unknown>, operationName?: string) =>
  post(JSON.stringify({ query, variables, operationName }));

/** Requests an HTTP client can get wrong before GraphQL is even reached. */
const badBodies = badRequestBodies;

function captureLogs() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

describe.each(['production', 'development'])('the subgraph server with NODE_ENV=%s', (mode) => {
  let server: RunningSubgraph;
  const logs = captureLogs();
  const seen: unknown[] = [];
  const references: unknown[] = [];

  beforeAll(async () => {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = mode;
    try {
      const keys = await generateKeyPair('EdDSA', { extractable: true });
      server = await startSubgraphServer<RequestContext>({
        name: 'test',
        port: 0,
        host: '127.0.0.1',
        typeDefs,
        logger: logs.logger,
        tokenVerifier: await TokenVerifier.fromPem(await exportSPKI(keys.publicKey), {
          issuer: 'test',
          audience: 'test',
        }),
        routes: (app) => {
          app.get('/boom', () => {
            throw new Error('connect ECONNREFUSED 127.0.0.1:5432 at /work/main/node_modules/pg/index.js:1:1');
          });
        },
        resolvers: {
          Decimal: DecimalScalar,
          DateTime: DateTimeScalar,
          Query: {
            search: (_: unknown, args: unknown) => {
              seen.push(args);
              return 0;
            },
            price: (_: unknown, { amount }: { amount: string }) => amount,
            since: (_: unknown, { at }: { at: string }) => at,
            explode: () => {
              throw new Error('relation "users" does not exist at /work/main/subgraphs/users/src/x.ts:1:1');
            },
          },
          Thing: {
            __resolveReference: (reference: { id: string }) => {
              references.push(reference);
              return { id: reference.id.toLowerCase(), name: 'thing' };
            },
          },
          Part: {
            __resolveReference: (reference: unknown) => {
              references.push(reference);
              return reference;
            },
          },
          Subscription: {
            ticks: {
              subscribe: async function* (_: unknown, args: unknown) {
                seen.push(args);
                yield { ticks: 1 };
              },
            },
          },
        },
      });
    } finally {
      process.env.NODE_ENV = previous;
    }
  });

  afterAll(async () => {
    await server?.stop();
  });

  describe('bodies it cannot read', () => {
    it.each(badBodies)('refuses %s', async (_, init, status, code) => {
      await expectRefused(server.url, init, status, code);
    });

    it('still answers a good request afterwards, with CORS headers on refusals for browsers', async () => {
      const refused = await send(
        server.url,
        post('{', { ...json, origin: 'https://studio.apollographql.com' }),
      );
      expect(refused.headers.get('access-control-allow-origin')).toBe('https://studio.apollographql.com');
      expect((await send(server.url, graphql('{ __typename }'))).body).toEqual({
        data: { __typename: 'Query' },
      });
    });
  });

  describe('routes nobody serves and unexpected failures', () => {
    it('answers an unknown route with 404 JSON', async () => {
      const base = new URL(server.url);
      await expectRefused(new URL('/nope', base).href, { method: 'GET' }, 404, 'NOT_FOUND');
      await expectRefused(new URL('/%E0%A4%A', base).href, { method: 'GET' }, 404, 'NOT_FOUND');
    });

    it('masks an unexpected error as 500 JSON and logs it in full with the request id it echoes', async () => {
      const answer = await send(new URL('/boom', server.url).href, {
        headers: { 'x-request-id': 'probe-42' },
      });
      expect(answer.status).toBe(500);
      expect(answer.body).toEqual({
        errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
      });
      expectNoLeak(answer.text);
      expect(answer.headers.get('x-request-id')).toBe('probe-42');
      expect(logs.lines).toContainEqual(
        expect.objectContaining({
          requestId: 'probe-42',
          err: expect.objectContaining({ message: expect.stringContaining('ECONNREFUSED') }),
        }),
      );
    });

    it('masks a failing resolver and logs it with the request id of the response', async () => {
      const answer = await send(server.url, graphql('{ explode }'));
      expect(answer.body.errors).toEqual([
        {
          message: 'Internal server error',
          path: ['explode'],
          extensions: { code: 'INTERNAL_SERVER_ERROR' },
        },
      ]);
      expectNoLeak(answer.text);
      const requestId = answer.headers.get('x-request-id');
      expect(logs.lines).toContainEqual(
        expect.objectContaining({
          requestId,
          err: expect.objectContaining({ message: expect.stringContaining('relation "users"') }),
        }),
      );
    });

    it('gives every response a request id, its own when the caller sent none or an unsafe one', async () => {
      const plain = await send(server.url, graphql('{ __typename }'));
      expect(plain.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const unsafe = await fetch(server.url, {
        ...graphql('{ __typename }'),
        headers: { ...json, 'x-request-id': 'a b\tc' },
      });
      expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  describe('operations it cannot resolve', () => {
    it('refuses an unknown operationName', async () => {
      await expectRefused(
        server.url,
        graphql('query A { __typename }', {}, 'B'),
        400,
        'OPERATION_RESOLUTION_FAILURE',
      );
    });

    it('refuses several operations without an operationName', async () => {
      await expectRefused(
        server.url,
        graphql('query A { __typename } query B { __typename }'),
        400,
        'OPERATION_RESOLUTION_FAILURE',
      );
      await expectRefused(
        server.url,
        graphql('{ __typename } { __typename }'),
        400,
        'GRAPHQL_VALIDATION_FAILED',
      );
    });

    it('refuses a subscription over HTTP, and an operation type the schema lacks', async () => {
      await expectRefused(server.url, graphql('subscription { ticks }'), 400, 'BAD_REQUEST');
      await expectRefused(server.url, graphql('mutation { __typename }'), 400, 'GRAPHQL_VALIDATION_FAILED');
    });
  });

  describe('NUL characters', () => {
    it.each([
      ['an inline literal', graphql('{ search(text: "a\\u0000b") }')],
      // Block strings know no escapes, but take a raw NUL.
      ['a block string', graphql('{ search(text: """a\u0000""") }')],
      ['a literal in an input object', graphql('{ search(filter: { tags: ["ok", "\\u0000"] }) }')],
      ['a variable', graphql('query($t: String) { search(text: $t) }', { t: 'x\u0000' })],
      [
        'a variable inside an input object',
        graphql('query($f: Filter) { search(filter: $f) }', { f: { tags: ['\u0000'] } }),
      ],
      ['a variable default', graphql('query($t: String = "\\u0000") { search(text: $t) }')],
      [
        'an object key of a variable',
        graphql('query($f: Filter) { search(filter: $f) }', { f: { 'a\u0000': 1 } }),
      ],
    ])('refuses one in %s before any resolver runs', async (_, init) => {
      const before = seen.length;
      await expectRefused(server.url, init, 400, 'BAD_USER_INPUT');
      expect(seen.length).toBe(before);
    });

    it.each([
      ['a literal', 'subscription { ticks(label: "\\u0000") }', {}],
      ['a variable', 'subscription($l: String) { ticks(label: $l) }', { l: '\u0000' }],
    ])('refuses one in %s of a subscription over graphql-ws', async (_, query, variables) => {
      const before = seen.length;
      const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
      const outcome = new Promise<unknown>((resolve) => {
        client.subscribe(
          { query, variables },
          { next: resolve, error: resolve, complete: () => resolve('complete') },
        );
      });
      const errors = await outcome;
      await client.dispose();
      expect(errors).toEqual([
        expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }),
      ]);
      expectNoLeak(JSON.stringify(errors));
      expect(seen.length).toBe(before);
    });

    it('lets other control characters and unicode through', async () => {
      const answer = await send(
        server.url,
        graphql('query($t: String) { search(text: $t) }', { t: 'tab\there ✓' }),
      );
      expect(answer.body).toEqual({ data: { search: 0 } });
    });
  });

  describe('shared scalars', () => {
    it.each([
      ['a Decimal literal', graphql('{ price(amount: "1e3") }')],
      ['a Decimal float literal', graphql('{ price(amount: 1.5) }')],
      ['a Decimal variable', graphql('query($a: Decimal!) { price(amount: $a) }', { a: '1e3' })],
      ['a DateTime literal in year 0000', graphql('{ since(at: "0000-01-01T00:00:00.000Z") }')],
      ['a DateTime variable', graphql('query($at: DateTime!) { since(at: $at) }', { at: 'yesterday' })],
    ])('refuses %s with BAD_USER_INPUT', async (_, init) => {
      await expectRefused(server.url, init, 400, 'BAD_USER_INPUT');
    });

    it('accepts valid ones', async () => {
      const answer = await send(
        server.url,
        graphql('{ price(amount: "12.50") since(at: "2026-02-01T09:30:00Z") }'),
      );
      expect(answer.body).toEqual({ data: { price: '12.50', since: '2026-02-01T09:30:00.000Z' } });
    });
  });

  describe('_entities representations', () => {
    const entities = (representations: unknown) =>
      graphql('query($r: [_Any!]!) { _entities(representations: $r) { __typename } }', {
        r: representations,
      });

    it.each([
      ['without an id', [{ __typename: 'Thing' }]],
      ['with a null id', [{ __typename: 'Thing', id: null }]],
      ['with a numeric id', [{ __typename: 'Thing', id: 5 }]],
      ['with an object id', [{ __typename: 'Thing', id: { $gt: '' } }]],
      ['of an unknown type', [{ __typename: 'Nope', id: '1' }]],
      ['of a type that is not an entity', [{ __typename: 'Maker', code: 1 }]],
      ['without __typename', [{ id: '1' }]],
      ['that is a string', ['Thing:1']],
      ['that is a list', [['Thing', '1']]],
      ['that is null', [null]],
      [
        'after a good one',
        [
          { __typename: 'Thing', id: 'A' },
          { __typename: 'Thing', id: 7 },
        ],
      ],
      ['missing a nested key field', [{ __typename: 'Part', sku: 'P1', maker: {} }]],
      ['with a nested key of the wrong type', [{ __typename: 'Part', sku: 'P1', maker: { code: '1' } }]],
    ])('refuses a representation %s before any resolver runs', async (_, representations) => {
      const before = references.length;
      await expectRefused(server.url, entities(representations), 400, 'BAD_USER_INPUT');
      expect(references.length).toBe(before);
    });

    it('refuses a malformed representation written as a literal', async () => {
      await expectRefused(
        server.url,
        graphql('{ _entities(representations: [{ __typename: "Thing", id: 5 }]) { __typename } }'),
        400,
        'BAD_USER_INPUT',
      );
    });

    it('resolves well-formed representations', async () => {
      const answer = await send(
        server.url,
        graphql(
          'query($r: [_Any!]!) { _entities(representations: $r) { ... on Thing { id } ... on Part { sku } } }',
          {
            r: [
              { __typename: 'Thing', id: 'ABC', extra: 'ignored' },
              { __typename: 'Part', sku: 'P1', maker: { code: 3 } },
            ],
          },
        ),
      );
      expect(answer.body).toEqual({ data: { _entities: [{ id: 'abc' }, { sku: 'P1' }] } });
    });
  });
});
