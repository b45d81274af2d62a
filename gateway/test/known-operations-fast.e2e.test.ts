import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { createTestRedis, startTestSubgraphs, type TestRedis, testLogger } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeSupergraph } from '../src/compose';
import { type RunningGateway, startGateway } from '../src/gateway';

// The known-operations path (gateway/src/http/known-operations.ts) must answer exactly as Apollo's pipeline does.
// Two gateways on the same subgraphs, identical but for that path: `apollo` sends everything through
// executeHTTPGraphQLRequest, `lean` serves operations it has already served without it. Every request of the
// corpus goes to both, in the same order (a first time, which teaches `lean` the text, then the compared time);
// status, headers (but the date) and body must be the same bytes, and `lean` must have answered the known ones
// itself. Inventory is composed in but not started, so its fields fail (a partial answer).

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function post(url: string, body: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** What must be equal: the status, every header but the date and connection ones, the body's bytes. */
function comparable(answer: Answer) {
  const { date: _date, connection: _connection, 'keep-alive': _keepAlive, ...headers } = answer.headers;
  return { status: answer.status, headers, body: answer.body };
}

interface Case {
  name: string;
  body: unknown;
  headers?: Record<string, string>;
  /** Whether `lean` answers the compared request itself (its text known and servable). */
  lean: boolean;
}

const PRODUCTS =
  'query Products { products(first: 3) { edges { node { id name sku price { amount currency } } } } }';
const PAGE =
  'query Page($first: Int!, $search: String) { products(first: $first, search: $search) { totalCount edges { node { id name } } } }';
const ME = 'query Me { me { id role } }';
const WITH_STOCK =
  'query Stock { products(first: 2) { edges { node { id name inventory { availableQuantity } } } } }';
const ADMIN_ONLY = 'query Items { inventoryItems(first: 2) { edges { node { id } } } }';
const TWO =
  'query A { products(first: 1) { totalCount } } query B { products(first: 2) { edges { node { id } } } }';
const LOGIN =
  'mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }';
const LOGOUT = 'mutation Logout($token: String!) { logout(refreshToken: $token) }';
// Six levels: over the depth limit both gateways get (MAX_DEPTH).
const TOO_DEEP = 'query TooDeep { products(first: 1) { edges { node { inventory { product { id } } } } } }';
const DEEP = `query Deep { products(first: 1) { edges { node { id ${'... on Product { '.repeat(3)} name ${'}'.repeat(3)} } } } }`;

/** Operations per client and window; the corpus sends fewer than this per client (each case 2 × per gateway). */
const LIMIT = 100;
/** Deep enough for every query of the corpus but TOO_DEEP. */
const MAX_DEPTH = 5;

describe('known operations: the same answers as Apollo', () => {
  let stopSubgraphs: () => Promise<void>;
  let apollo: RunningGateway;
  let lean: RunningGateway;
  let redises: TestRedis[] = [];
  let customer: string;
  let admin: string;
  let supergraphSdl: string;
  let keys: Awaited<ReturnType<typeof startTestSubgraphs>>['keys'];

  beforeAll(async () => {
    const gatewaySecret = randomBytes(32).toString('base64url');
    const started = await startTestSubgraphs({
      only: ['users', 'products'],
      env: {
        GATEWAY_SECRET: gatewaySecret,
        LOGIN_FAILURES_PER_ACCOUNT: '1000',
        LOGIN_FAILURES_PER_ADDRESS: '1000',
      },
      seed: true,
    });
    stopSubgraphs = started.stop;
    keys = started.keys;
    ({ supergraphSdl } = await composeSupergraph(
      Object.fromEntries(Object.entries(started.subgraphs).map(([name, subgraph]) => [name, subgraph.url])),
    ));
    redises = [await createTestRedis(), await createTestRedis()];
    const start = (redis: TestRedis, knownOperations: boolean) =>
      startGateway({
        supergraphSdl,
        port: 0,
        host: '127.0.0.1',
        tokenVerifier: started.keys.verifier,
        logger: testLogger('gateway'),
        gatewaySecret,
        // Each its own counts (a prefix of its own), the same limit: the same refusals at the same request.
        clientRateLimit: { redis: redis.redis, limit: LIMIT, windowSeconds: 600 },
        knownOperations,
        maxQueryDepth: MAX_DEPTH,
      });
    apollo = await start(redises[0] as TestRedis, false);
    lean = await start(redises[1] as TestRedis, true);
    customer = await started.keys.tokenFor('CUSTOMER');
    admin = await started.keys.tokenFor('ADMIN');
  });

  afterAll(async () => {
    await apollo?.stop();
    await lean?.stop();
    await Promise.all(redises.map((redis) => redis.cleanup()));
    await stopSubgraphs?.();
  });

  /** Sends the case to both gateways (twice each, alternating) and returns the compared answers. */
  async function both(testCase: Case, id: string) {
    const body = typeof testCase.body === 'string' ? testCase.body : JSON.stringify(testCase.body);
    const headers = { 'x-request-id': id, ...testCase.headers };
    await post(`${apollo.url}`, body, headers);
    await post(`${lean.url}`, body, headers);
    const servedBefore = lean.knownOperations.served;
    const reference = await post(`${apollo.url}`, body, headers);
    const answer = await post(`${lean.url}`, body, headers);
    return { reference, answer, leanServed: lean.knownOperations.served - servedBefore };
  }

  it('answers every request of the corpus with Apollo bytes, the known ones itself', async () => {
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    const cases: Case[] = [
      { name: 'a query', body: { query: PRODUCTS }, lean: true },
      { name: 'with its operationName', body: { query: PRODUCTS, operationName: 'Products' }, lean: true },
      { name: 'operationName null', body: { query: PRODUCTS, operationName: null }, lean: true },
      { name: 'an unknown key in the body', body: { query: PRODUCTS, other: 1 }, lean: true },
      {
        name: 'accept graphql-response+json',
        body: { query: PRODUCTS },
        headers: { accept: 'application/graphql-response+json' },
        lean: true,
      },
      {
        name: 'accept both, JSON preferred',
        body: { query: PRODUCTS },
        headers: { accept: 'application/json;q=0.9, application/graphql-response+json;q=0.8' },
        lean: true,
      },
      { name: 'accept */*', body: { query: PRODUCTS }, headers: { accept: '*/*' }, lean: true },
      {
        name: 'accept nothing JSON (406)',
        body: { query: PRODUCTS },
        headers: { accept: 'text/html' },
        lean: false,
      },
      { name: 'variables', body: { query: PAGE, variables: { first: 2 } }, lean: true },
      {
        name: 'variables with a search',
        body: { query: PAGE, variables: { first: 2, search: 'a' } },
        lean: true,
      },
      {
        name: 'a variable of the wrong type',
        body: { query: PAGE, variables: { first: 'two' } },
        lean: true,
      },
      { name: 'a required variable missing', body: { query: PAGE, variables: {} }, lean: true },
      { name: 'variables null', body: { query: PAGE, variables: null }, lean: true },
      { name: 'variables an array', body: { query: PAGE, variables: [1] }, lean: false },
      {
        name: 'a NUL in a variable',
        body: { query: PAGE, variables: { first: 2, search: 'a\u0000b' } },
        lean: true,
      },
      {
        name: 'over the cost limit by a variable',
        body: { query: PAGE, variables: { first: 100000 } },
        lean: true,
      },
      { name: 'refused by the subgraph', body: { query: PAGE, variables: { first: 500 } }, lean: true },
      { name: 'extensions', body: { query: PRODUCTS, extensions: {} }, lean: false },
      { name: 'signed in', body: { query: ME }, headers: bearer(customer), lean: true },
      { name: 'anonymous where a sign-in is needed', body: { query: ME }, lean: true },
      { name: 'a bad token', body: { query: ME }, headers: bearer('not.a.token'), lean: false },
      // Refused before it ran: not known yet (an admin's request teaches it, below).
      {
        name: 'forbidden, not known yet',
        body: { query: ADMIN_ONLY },
        headers: bearer(customer),
        lean: false,
      },
      {
        name: 'an admin, its subgraph down',
        body: { query: ADMIN_ONLY },
        headers: bearer(admin),
        lean: true,
      },
      { name: 'forbidden to a customer', body: { query: ADMIN_ONLY }, headers: bearer(customer), lean: true },
      { name: 'a partial answer (a subgraph down)', body: { query: WITH_STOCK }, lean: true },
      { name: 'two operations, A', body: { query: TWO, operationName: 'A' }, lean: true },
      { name: 'two operations, B', body: { query: TWO, operationName: 'B' }, lean: true },
      { name: 'two operations, none named', body: { query: TWO }, lean: false },
      { name: 'an unknown operation name', body: { query: TWO, operationName: 'C' }, lean: false },
      { name: 'an empty operation name', body: { query: PRODUCTS, operationName: '' }, lean: false },
      { name: 'fragments', body: { query: DEEP }, lean: true },
      { name: 'too deep', body: { query: TOO_DEEP }, lean: false },
      {
        name: 'a failing mutation',
        body: { query: LOGIN, variables: { email: 'test@example.com', password: 'wrong-password' } },
        lean: true,
      },
      { name: 'a mutation', body: { query: LOGOUT, variables: { token: 'unknown' } }, lean: true },
      { name: 'introspection', body: { query: '{ __schema { queryType { name } } }' }, lean: false },
      { name: 'a syntax error', body: { query: 'query {' }, lean: false },
      { name: 'a batch', body: [{ query: PRODUCTS }], lean: false },
    ];
    const mismatches: string[] = [];
    for (const [index, testCase] of cases.entries()) {
      const { reference, answer, leanServed } = await both(testCase, `known-ops-${index}`);
      expect(comparable(answer), testCase.name).toEqual(comparable(reference));
      if ((leanServed === 1) !== testCase.lean) {
        mismatches.push(`${testCase.name}: served by the known-operations path ${leanServed} times`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('refuses over the client rate limit as Apollo does, at the same request', async () => {
    // A made-up user of its own: nothing counted against it yet.
    const headers = { authorization: `Bearer ${await keys.tokenFor('CUSTOMER')}` };
    const body = JSON.stringify({ query: PRODUCTS });
    const statuses: number[] = [];
    const servedBefore = lean.knownOperations.served;
    // The seconds until the window ends may tick between the two gateways' answers.
    const masked = (answer: Answer) => {
      const view = comparable(answer);
      return {
        ...view,
        headers: { ...view.headers, 'retry-after': view.headers['retry-after'] ? 'n' : undefined },
        body: view.body.replace(/"retryAfterSeconds":\d+/, '"retryAfterSeconds":n'),
      };
    };
    for (let i = 0; i < LIMIT + 3; i++) {
      const reference = await post(apollo.url, body, { ...headers, 'x-request-id': `limit-${i}` });
      const answer = await post(lean.url, body, { ...headers, 'x-request-id': `limit-${i}` });
      expect(masked(answer), `request ${i}`).toEqual(masked(reference));
      statuses.push(answer.status);
    }
    expect(statuses.slice(LIMIT)).toEqual([429, 429, 429]);
    // The first request taught it the text (Products is known from the corpus already, so all of them).
    expect(lean.knownOperations.served - servedBefore).toBe(LIMIT + 3);
  });

  it('forgets what it knew when the supergraph is reloaded', async () => {
    const body = JSON.stringify({ query: PRODUCTS });
    const headers = { authorization: `Bearer ${admin}`, 'x-request-id': 'reload' };
    let served = lean.knownOperations.served;
    await post(lean.url, body, headers);
    expect(lean.knownOperations.served).toBe(served + 1);
    // Another text (the gateway ignores a supergraph it has loaded already), the same schema.
    lean.reloadSupergraph(`${supergraphSdl}\n# reloaded\n`);
    served = lean.knownOperations.served;
    const first = await post(lean.url, body, headers);
    expect(lean.knownOperations.served).toBe(served); // Apollo's again, against the new schema
    const second = await post(lean.url, body, headers);
    expect(lean.knownOperations.served).toBe(served + 1);
    expect(comparable(second)).toEqual(comparable(first));
  });
});
