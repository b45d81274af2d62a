import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { composeServices } from '@apollo/composition';
import { encodeCursor } from '@shop/kit';
import { badRequestBodies, createTestKeys, expectNoLeak, rawPost, testLogger } from '@shop/testing';
import { getIntrospectionQuery, Kind, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGateway, startGateway } from '../src/gateway';
import { startTestSupergraph, type TestSupergraph } from './supergraph';

// A careless (or hostile) client probing the gateway and every subgraph port: whatever it gets wrong is answered
// with JSON errors, a 4xx status and a code, and no answer shows an address, a path, a stack or SQL.

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}

async function send(where: string, url: string, init: RequestInit): Promise<Answer> {
  const response = await fetch(url, init);
  const text = await response.text();
  expect(response.headers.get('content-type'), `${where}: ${text.slice(0, 200)}`).toMatch(
    /^application\/(graphql-response\+)?json/,
  );
  return { status: response.status, headers: response.headers, text, body: JSON.parse(text) };
}

/** The shape of every refusal: JSON errors, this status, one of these codes, no leak. */
async function expectRefused(
  where: string,
  url: string,
  init: RequestInit,
  status: number,
  codes: string | string[],
): Promise<Answer> {
  const answer = await send(where, url, init);
  expect(answer.status, `${where}: ${answer.text}`).toBe(status);
  expect([codes].flat(), `${where}: ${answer.text}`).toContain(answer.body.errors?.[0]?.extensions?.code);
  expectNoLeak(answer.text, where);
  return answer;
}

const json = { 'content-type': 'application/json' };
const post = rawPost;
const graphql = (
  query: string,
  variables?: Record<string, unknown>,
  options: { operationName?: string; token?: string } = {},
) =>
  post(
    JSON.stringify({ query, variables, operationName: options.operationName }),
    options.token ? { ...json, authorization: `Bearer ${options.token}` } : json,
  );

const badBodies = badRequestBodies;

/** Introspection `levels` deep: `{ __schema { types { ofType { … { name } } } } }`. */
function deepIntrospection(levels: number): string {
  const ofTypes = levels - 3;
  return `{ __schema { types { ${'ofType { '.repeat(ofTypes)}name${' }'.repeat(ofTypes)} } } }`;
}

async function subgraphSdl(url: string): Promise<string> {
  const answer = await send('_service', url, graphql('{ _service { sdl } }'));
  const service = answer.body.data?._service as { sdl?: unknown } | undefined;
  if (typeof service?.sdl !== 'string') throw new Error(`no SDL from ${url}: ${answer.text}`);
  return service.sdl;
}

/** Entity types of a subgraph SDL with the top-level fields of their first simple @key. */
function entityKeys(sdl: string): { typename: string; fields: string[] }[] {
  return parse(sdl).definitions.flatMap((definition) => {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.OBJECT_TYPE_EXTENSION) {
      return [];
    }
    const key = definition.directives
      ?.filter((d) => d.name.value === 'key')
      .map((d) => d.arguments?.find((a) => a.name.value === 'fields')?.value)
      .find((value) => value?.kind === Kind.STRING && !value.value.includes('{'));
    if (key?.kind !== Kind.STRING) return [];
    return [{ typename: definition.name.value, fields: key.value.trim().split(/[\s,]+/) }];
  });
}

/** A stand-in subgraph that fails every request the way a broken service would, and records what it got. */
async function startBrokenSubgraph(): Promise<{
  url: string;
  received: IncomingHttpHeaders[];
  server: Server;
}> {
  const received: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    received.push(req.headers);
    req.resume();
    res.writeHead(500, { 'content-type': 'text/html' });
    res.end(
      '<pre>Error: boom<br> at handler (/work/main/subgraphs/x/src/index.ts:1:1) postgresql://db</pre>',
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, received, server };
}

describe('client errors through the gateway and on every subgraph port', () => {
  let supergraph: TestSupergraph;
  let targets: [string, string][];

  beforeAll(async () => {
    supergraph = await startTestSupergraph();
    targets = [
      ['gateway', supergraph.gateway.url],
      ...Object.entries(supergraph.subgraphs).map(([name, subgraph]): [string, string] => [
        name,
        subgraph.url,
      ]),
    ];
  });

  afterAll(async () => {
    await supergraph?.stop();
  });

  /** The subgraph whose SDL defines this root field (found by reading SDL, not by name). */
  async function subgraphServing(field: RegExp): Promise<[string, string]> {
    for (const [name, subgraph] of Object.entries(supergraph.subgraphs)) {
      if (field.test(await subgraphSdl(subgraph.url))) return [name, subgraph.url];
    }
    throw new Error(`no subgraph serves ${field}`);
  }

  describe('bodies nobody can read', () => {
    it.each(badBodies)('refuses %s on every port', async (what, init, status, code) => {
      for (const [name, url] of targets) await expectRefused(`${name}, ${what}`, url, init, status, code);
    });

    it('answers unknown routes with 404 JSON on every port', async () => {
      for (const [name, url] of targets) {
        await expectRefused(name, new URL('/nope', url).href, { method: 'GET' }, 404, 'NOT_FOUND');
        await expectRefused(name, new URL('/graphq', url).href, graphql('{ __typename }'), 404, 'NOT_FOUND');
      }
    });

    it("echoes the caller's request id, or gives one, on every port", async () => {
      for (const [name, url] of targets) {
        const mine = await fetch(url, {
          ...post('{'),
          headers: { ...json, 'x-request-id': `probe-${name}` },
        });
        expect(mine.headers.get('x-request-id'), name).toBe(`probe-${name}`);
        const given = await fetch(url, graphql('{ __typename }'));
        expect(given.headers.get('x-request-id'), name).toMatch(/^[0-9a-f-]{36}$/);
      }
    });
  });

  describe('operations nobody can run', () => {
    it('refuses an unknown operationName on every port', async () => {
      for (const [name, url] of targets) {
        const init = graphql('query A { __typename }', {}, { operationName: 'B' });
        await expectRefused(name, url, init, 400, 'OPERATION_RESOLUTION_FAILURE');
      }
    });

    it('refuses several operations without an operationName on every port', async () => {
      for (const [name, url] of targets) {
        const named = graphql('query A { __typename } query B { __typename }');
        await expectRefused(name, url, named, 400, 'OPERATION_RESOLUTION_FAILURE');
        await expectRefused(
          name,
          url,
          graphql('{ __typename } { __typename }'),
          400,
          'GRAPHQL_VALIDATION_FAILED',
        );
      }
    });

    it('refuses a subscription over HTTP on every port', async () => {
      for (const [name, url] of targets) {
        // BAD_REQUEST where the schema has subscriptions (they are served over graphql-ws), else not in the schema.
        const init = graphql('subscription { __typename }');
        await expectRefused(name, url, init, 400, ['BAD_REQUEST', 'GRAPHQL_VALIDATION_FAILED']);
      }
    });
  });

  describe('NUL characters', () => {
    it('are refused in literals and variables on every port before any resolver runs', async () => {
      for (const [name, url] of targets) {
        await expectRefused(
          name,
          url,
          graphql('{ __type(name: "Query\\u0000") { name } }'),
          400,
          'BAD_USER_INPUT',
        );
        const variables = graphql('query($n: String!) { __type(name: $n) { name } }', { n: '\u0000' });
        await expectRefused(name, url, variables, 400, 'BAD_USER_INPUT');
      }
    });

    it('are refused in a product search through the gateway', async () => {
      const { url } = supergraph.gateway;
      await expectRefused(
        'literal',
        url,
        graphql('{ products(search: "\\u0000") { totalCount } }'),
        400,
        'BAD_USER_INPUT',
      );
      const init = graphql('query($s: String) { products(search: $s) { totalCount } }', { s: 'cup\u0000' });
      await expectRefused('variable', url, init, 400, 'BAD_USER_INPUT');
    });

    it('are refused in a registration, as a name or an email, through the gateway and at the subgraph', async () => {
      const [name, subgraphUrl] = await subgraphServing(/\bregister\(/);
      const register = 'mutation($input: RegisterInput!) { register(input: $input) { user { id } } }';
      const email = `nul-${randomUUID().slice(0, 8)}@example.com`;
      for (const [where, url] of [
        ['gateway', supergraph.gateway.url],
        [name, subgraphUrl],
      ] as const) {
        for (const input of [
          { email, password: 'correct horse', name: 'Nul\u0000Name' },
          { email: `${email}\u0000`, password: 'correct horse', name: 'Nul' },
        ]) {
          await expectRefused(where, url, graphql(register, { input }), 400, 'BAD_USER_INPUT');
        }
        const literal = `mutation { register(input: { email: "${email}", password: "correct horse", name: "a\\u0000" }) { user { id } } }`;
        await expectRefused(where, url, graphql(literal), 400, 'BAD_USER_INPUT');
      }
      // None of them created the account.
      const taken = await send(
        'register',
        supergraph.gateway.url,
        graphql(register, {
          input: { email, password: 'correct horse', name: 'Now' },
        }),
      );
      expect(taken.body.errors).toBeUndefined();
    });
  });

  describe('shared scalars at the gateway', () => {
    it('refuses an invalid Decimal with BAD_USER_INPUT and 400, as a literal or a variable', async () => {
      const token = await supergraph.keys.tokenFor('ADMIN');
      const { url } = supergraph.gateway;
      const literal = 'mutation { createProduct(input: { name: "x", sku: "X1", price: "1e3" }) { id } }';
      await expectRefused('literal', url, graphql(literal, {}, { token }), 400, 'BAD_USER_INPUT');
      const variable = graphql(
        'mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }',
        { input: { name: 'x', sku: 'X1', price: '1e3' } },
        { token },
      );
      await expectRefused('variable', url, variable, 400, 'BAD_USER_INPUT');
      const float = graphql(
        'mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }',
        { input: { name: 'x', sku: 'X1', price: 0.1 } },
        { token },
      );
      await expectRefused('float', url, float, 400, 'BAD_USER_INPUT');
    });
  });

  describe('cursors', () => {
    it('refuses a cursor in year 0000 with BAD_USER_INPUT, through the gateway and at the subgraph', async () => {
      const [name, subgraphUrl] = await subgraphServing(/\bproducts\(/);
      const after = encodeCursor(['0000-01-01T00:00:00.000Z', randomUUID()]);
      const query = graphql('query($after: String) { products(first: 2, after: $after) { totalCount } }', {
        after,
      });
      for (const [where, url] of [
        ['gateway', supergraph.gateway.url],
        [name, subgraphUrl],
      ] as const) {
        // A field's argument refused while it resolves: the field is null and coded, the response a 200 as
        // GraphQL over HTTP has it (a 4xx would make the gateway drop the rest of a subgraph's answer).
        const answer = await send(where, url, query);
        expect(
          answer.body.errors?.map((e) => e.extensions?.code),
          answer.text,
        ).toEqual(['BAD_USER_INPUT']);
        expect(answer.body.errors?.[0]?.message).toMatch(/after/);
        expect(answer.body.data ?? null).toBeNull();
        expect(answer.status).toBeLessThan(500);
        expectNoLeak(answer.text, where);
      }
    });
  });

  describe('_entities representations', () => {
    it('refuses malformed representations on every subgraph with BAD_USER_INPUT and 400', async () => {
      const token = await supergraph.keys.tokenFor('ADMIN');
      let checked = 0;
      for (const [name, subgraph] of Object.entries(supergraph.subgraphs)) {
        const entities = entityKeys(await subgraphSdl(subgraph.url));
        const malformed: unknown[] = ['User:1', null, [], { id: '1' }, { __typename: 'NoSuchType', id: '1' }];
        for (const { typename, fields } of entities) {
          const [first = 'id'] = fields;
          malformed.push(
            { __typename: typename },
            { __typename: typename, [first]: null },
            { __typename: typename, [first]: 5 },
            { __typename: typename, [first]: { nested: true } },
          );
        }
        for (const representation of malformed) {
          const init = graphql(
            'query($r: [_Any!]!) { _entities(representations: $r) { __typename } }',
            { r: [representation] },
            { token },
          );
          // A subgraph with no entity (notifications) has no _entities field: the query itself is invalid.
          await expectRefused(
            `${name} ${JSON.stringify(representation)}`,
            subgraph.url,
            init,
            400,
            entities.length > 0 ? 'BAD_USER_INPUT' : 'GRAPHQL_VALIDATION_FAILED',
          );
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(0);
    });
  });

  describe('introspection', () => {
    it('answers getIntrospectionQuery() on every port, the gateway included', async () => {
      for (const [name, url] of targets) {
        const answer = await send(name, url, graphql(getIntrospectionQuery({ inputValueDeprecation: true })));
        expect(answer.status, `${name}: ${answer.text.slice(0, 300)}`).toBe(200);
        expect(answer.body.errors, name).toBeUndefined();
        expect(answer.body.data?.__schema).toMatchObject({ queryType: { name: 'Query' } });
      }
    });

    it('still refuses a 40-deep introspection query and deep normal queries at the gateway', async () => {
      const { url } = supergraph.gateway;
      const deep = await expectRefused(
        'introspection',
        url,
        graphql(deepIntrospection(40)),
        400,
        'BAD_USER_INPUT',
      );
      expect(deep.body.errors?.[0]?.message).toMatch(/limit is 20/);
      const fields = `{ __schema { queryType { name } } products { ${'edges { node { id } } '.repeat(1)}} }`;
      expect((await send('mixed', url, graphql(fields))).status).toBe(200);
    });
  });

  describe('subgraph failures seen through the gateway', () => {
    let supergraphSdl: string;
    const gateways: RunningGateway[] = [];
    let broken: Awaited<ReturnType<typeof startBrokenSubgraph>> | undefined;

    beforeAll(async () => {
      const services = await Promise.all(
        Object.entries(supergraph.subgraphs).map(async ([name, subgraph]) => ({
          name,
          url: subgraph.url,
          typeDefs: parse(await subgraphSdl(subgraph.url)),
        })),
      );
      const composed = composeServices(services);
      if (!composed.supergraphSdl) throw new Error(composed.errors?.map((e) => e.message).join('\n'));
      supergraphSdl = composed.supergraphSdl;
    });

    afterAll(async () => {
      await Promise.all(gateways.map((gateway) => gateway.stop()));
      await new Promise((resolve) => broken?.server.close(resolve));
    });

    it("passes on a subgraph's 401 (a token the gateway still accepted) as UNAUTHENTICATED, without its address", async () => {
      // The gateway trusts a key the subgraphs do not: as when a token expires between the two checks.
      const stranger = await createTestKeys();
      const gateway = await startGateway({
        supergraphSdl,
        port: 0,
        host: '127.0.0.1',
        tokenVerifier: stranger.verifier,
        logger: testLogger('gateway'),
      });
      gateways.push(gateway);
      const token = await stranger.tokenFor('ADMIN');
      const create =
        'mutation { createProduct(input: { name: "x", sku: "EXPIRED-1", price: "1.00" }) { id } }';
      for (const query of ['{ me { id } }', create]) {
        const answer = await expectRefused(
          query,
          gateway.url,
          graphql(query, {}, { token }),
          401,
          'UNAUTHENTICATED',
        );
        expect(answer.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
        expect(answer.body.errors?.[0]?.message).not.toMatch(/^401/);
      }
    });

    it('masks a subgraph that fails with a 500 page, and forwards the request id to it', async () => {
      broken = await startBrokenSubgraph();
      const deadUrl = broken.url;
      const gateway = await startGateway({
        supergraphSdl,
        port: 0,
        host: '127.0.0.1',
        tokenVerifier: supergraph.keys.verifier,
        logger: testLogger('gateway'),
        subgraphUrls: Object.fromEntries(Object.keys(supergraph.subgraphs).map((name) => [name, deadUrl])),
      });
      gateways.push(gateway);

      const answer = await send('broken', gateway.url, {
        ...graphql('{ products(first: 1) { totalCount } }'),
        headers: { ...json, 'x-request-id': 'probe-broken' },
      });
      expect(answer.body.errors?.[0]).toMatchObject({
        message: 'Internal server error',
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      });
      expectNoLeak('broken', answer.text);
      expect(broken.received.at(-1)?.['x-request-id']).toBe('probe-broken');

      // An invalid Decimal never reaches a subgraph: the gateway refuses it itself.
      const before = broken.received.length;
      const token = await supergraph.keys.tokenFor('ADMIN');
      const literal = 'mutation { createProduct(input: { name: "x", sku: "X1", price: "1e3" }) { id } }';
      await expectRefused('decimal', gateway.url, graphql(literal, {}, { token }), 400, 'BAD_USER_INPUT');
      expect(broken.received.length).toBe(before);
    });
  });
});
