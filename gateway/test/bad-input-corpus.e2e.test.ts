import { randomUUID } from 'node:crypto';
import { clientErrorCodes } from '@shop/kit';
import { badRequestBodies, leakPatterns, postGraphQL, rawPost, waitFor } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeSupergraph } from '../src/compose';
import {
  argumentCases,
  type CorpusCase,
  type Fixture,
  literalOverflowCase,
  operationText,
  type RootOperation,
  rootOperations,
  validVariables,
} from './bad-input-corpus';
import { address, payOrder } from './checkout-support';
import { demo, settledSnapshot, startTestSupergraph, type TestSupergraph } from './supergraph';

// The bad-input corpus (issue 14): every operation that takes input, each argument (and each field of its input
// objects) in turn given a value a careless or hostile client gets wrong, the rest valid and pointing at real
// records, sent through the gateway as a customer and as an admin (valid tokens, so authorisation is not what
// refuses them) and a sample of it directly to the subgraph serving it; then HTTP requests nobody can read on
// every port. Every answer must carry a code of the known list (never INTERNAL_SERVER_ERROR), a 4xx for a
// refused request, no stack, path, SQL or address; and nothing may change in any database or in Redis.

const json = { 'content-type': 'application/json' };
/** Rate-limit counters are left out of the comparison: a failed sign-in is meant to count. */
const RATE_LIMIT_KEYS = /(^|:)rate:/;
const CONCURRENCY = 4;
/** A refusal is quick; an answer this late counts as none (a hung request would otherwise hang the file). */
const ANSWER_WITHIN_MS = 10_000;
/** Every how-many-th argument case is also sent directly to the subgraph serving its field. */
const DIRECT_SAMPLE = 5;
/** Every how-many-th case of an operation a customer may call is also sent as an admin. */
const ADMIN_SAMPLE = 6;

type Role = 'CUSTOMER' | 'ADMIN';

interface Sent {
  where: string;
  label: string;
  category: string;
  url: string;
  init: RequestInit;
  /** The root field asked for, when the request is an argument case. */
  corpusCase?: CorpusCase;
}

interface Outcome {
  sent: Sent;
  status: number;
  codes: string[];
  /** Answered without an error in a way the schema documents for this input (a lookup's null, logout's true). */
  answered?: string;
  problems: string[];
  ms: number;
}

async function judge(sent: Sent): Promise<Outcome> {
  const problems: string[] = [];
  const started = performance.now();
  let response: Response;
  let text: string;
  try {
    response = await fetch(sent.url, { ...sent.init, signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });
    text = await response.text();
  } catch (error) {
    return {
      sent,
      status: 0,
      codes: [],
      problems: [`${sent.where} ${sent.label}`, `no answer: ${String(error)}`],
      ms: 0,
    };
  }
  const ms = performance.now() - started;
  const outcome: Outcome = { sent, status: response.status, codes: [], problems, ms };
  for (const leak of leakPatterns) if (leak.test(text)) problems.push(`leaks ${leak}: ${text.slice(0, 300)}`);
  if (!/^application\/(graphql-response\+)?json/.test(response.headers.get('content-type') ?? '')) {
    problems.push(`not JSON (${response.headers.get('content-type')}): ${text.slice(0, 200)}`);
    return outcome;
  }
  const body = JSON.parse(text) as {
    data?: Record<string, unknown> | null;
    errors?: { message: string; path?: unknown[]; extensions?: { code?: string } }[];
  };
  outcome.codes = (body.errors ?? []).map((error) => String(error.extensions?.code));
  if (response.status >= 500) problems.push(`HTTP ${response.status}`);
  for (const code of outcome.codes) {
    if (code === 'INTERNAL_SERVER_ERROR' || !clientErrorCodes.has(code)) problems.push(`code ${code}`);
  }
  if (body.errors?.some((error) => error.path === undefined) && response.status < 400) {
    problems.push(`a refused request answered ${response.status}`);
  }
  if (outcome.codes.length === 0) {
    const field = sent.corpusCase?.operation.field.name;
    const value = field ? body.data?.[field] : undefined;
    if (sent.corpusCase?.wellFormedUnknownId && sent.corpusCase.operation.type === 'query') {
      // A lookup answers null, a filter an empty list: a well-formed id of no record is not a mistake to a query.
      outcome.answered = 'a query for a well-formed id of no record';
    } else if (field === 'logout' && value === true) {
      outcome.answered = 'logout is true even for an unknown token';
    } else if ((value as { __typename?: string } | undefined)?.__typename === 'WrongCurrentPassword') {
      outcome.answered = 'the WrongCurrentPassword result';
    } else {
      problems.push(`not refused: HTTP ${response.status} ${text.slice(0, 200)}`);
    }
  }
  if (problems.length > 0) problems.unshift(`${sent.where} ${sent.label}`);
  return outcome;
}

/** Runs `work` over `items` with at most `limit` at a time, in order of start. */
async function inPool<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index] as T);
      }
    }),
  );
  return results;
}

const tally = (values: string[]) =>
  Object.fromEntries(
    Object.entries(
      values.reduce<Record<string, number>>((counts, value) => {
        counts[value] = (counts[value] ?? 0) + 1;
        return counts;
      }, {}),
    ).sort(([a], [b]) => a.localeCompare(b)),
  );

describe('bad-input corpus (issue 14)', () => {
  let supergraph: TestSupergraph;
  let operations: RootOperation[];
  let fixture: Fixture;
  const tokens = {} as Record<Role, string>;
  const outcomes: Outcome[] = [];

  /** One operation through the gateway that must succeed; its data. */
  async function call<D = Record<string, unknown>>(
    token: string | undefined,
    query: string,
    variables: Record<string, unknown> = {},
  ): Promise<D> {
    const answer = await postGraphQL<D>(supergraph.gateway.url, query, variables, token);
    if (answer.errors || !answer.data) throw new Error(`${query}: ${JSON.stringify(answer.errors)}`);
    return answer.data;
  }

  beforeAll(async () => {
    const started = performance.now();
    supergraph = await startTestSupergraph();
    const composed = await composeSupergraph(
      Object.fromEntries(
        Object.entries(supergraph.subgraphs).map(([name, subgraph]) => [name, subgraph.url]),
      ),
    );
    operations = rootOperations(composed.apiSdl, composed.supergraphSdl);

    const login = `mutation($email: String!, $password: String!) {
      login(email: $email, password: $password) { accessToken refreshToken user { id } } }`;
    type Login = { login: { accessToken: string; refreshToken: string; user: { id: string } } };
    const customer = (await call<Login>(undefined, login, demo.customer)).login;
    const admin = (await call<Login>(undefined, login, demo.admin)).login;
    tokens.CUSTOMER = customer.accessToken;
    tokens.ADMIN = admin.accessToken;

    // A product with stock, an order paid and shipped (its payment captured, so a refund is possible), carts of
    // the customer, the admin and a guest holding the product, the customer's notifications.
    const sku = `CORPUS-${randomUUID().slice(0, 8).toUpperCase()}`;
    const { createProduct: product } = await call<{ createProduct: { id: string } }>(
      admin.accessToken,
      'mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }',
      { input: { name: 'Corpus mug', sku, price: '12.50' } },
    );
    const { createInventory: inventory } = await call<{ createInventory: { id: string } }>(
      admin.accessToken,
      'mutation($input: CreateInventoryInput!) { createInventory(input: $input) { id } }',
      { input: { productId: product.id, sku, availableQuantity: 100 } },
    );
    const add = `mutation($productId: ID!, $guestCartId: ID) {
      addCartItem(productId: $productId, quantity: 1, guestCartId: $guestCartId) { id } }`;
    const cartItems = `{ cart { itemCount } }`;
    await call(customer.accessToken, add, { productId: product.id });
    const { checkout: order } = await call<{ checkout: { id: string } }>(
      customer.accessToken,
      'mutation($input: CheckoutInput!) { checkout(input: $input) { id } }',
      { input: { shippingAddress: address } },
    );
    await payOrder(supergraph, supergraph.client.as(customer.accessToken), order.id);
    await waitFor('the order paid', async () => {
      const data = await call<{ order: { status: string } }>(
        customer.accessToken,
        'query($id: ID!) { order(id: $id) { status } }',
        { id: order.id },
      );
      return data.order.status === 'PAID';
    });
    await call(admin.accessToken, 'mutation($id: ID!) { shipOrder(id: $id) { id } }', { id: order.id });
    type PaymentByOrder = { paymentByOrder: { id: string; status: string } };
    const payment = await waitFor('the payment captured', async () => {
      const { paymentByOrder } = await call<PaymentByOrder>(
        customer.accessToken,
        'query($orderId: ID!) { paymentByOrder(orderId: $orderId) { id status } }',
        { orderId: order.id },
      );
      return paymentByOrder.status === 'CAPTURED' && paymentByOrder;
    });
    // The order's cart is emptied by its order.placed: only then fill it again.
    await waitFor('the cart emptied', async () => {
      return (
        (await call<{ cart: { itemCount: number } }>(customer.accessToken, cartItems)).cart.itemCount === 0
      );
    });
    await call(customer.accessToken, add, { productId: product.id });
    await call(admin.accessToken, add, { productId: product.id });
    const { addCartItem: guestCart } = await call<{ addCartItem: { id: string } }>(undefined, add, {
      productId: product.id,
    });
    const notification = await waitFor('a notification of the customer', async () => {
      const { myNotifications } = await call<{ myNotifications: { edges: { node: { id: string } }[] } }>(
        customer.accessToken,
        '{ myNotifications(first: 1) { edges { node { id } } } }',
      );
      return myNotifications.edges[0]?.node;
    });
    const { products } = await call<{ products: { pageInfo: { endCursor: string } } }>(
      undefined,
      '{ products(first: 1) { pageInfo { endCursor } } }',
    );
    fixture = {
      ids: {
        Product: product.id,
        InventoryItem: inventory.id,
        Order: order.id,
        Payment: payment.id,
        Notification: notification.id,
        User: customer.user.id,
        GuestCart: guestCart.id,
      },
      cursor: products.pageInfo.endCursor,
      refreshToken: customer.refreshToken,
      password: demo.customer.password,
    };
    console.log(
      `bad-input corpus: supergraph and fixture ready in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }, 120_000);

  afterAll(async () => {
    await supergraph?.stop();
  });

  it('refuses every case with a known code, a 4xx, no leak, and changes nothing', async () => {
    const before = await settledSnapshot(supergraph, { ignoreRedisKeys: RATE_LIMIT_KEYS });
    const started = performance.now();

    const sends: Sent[] = [];
    let argumentCaseCount = 0;
    for (const operation of operations) {
      const cases = argumentCases(operation, fixture);
      const literal = literalOverflowCase(operation, fixture);
      if (literal) cases.push(literal);
      const roles: Role[] = operation.adminOnly ? ['ADMIN'] : ['CUSTOMER', 'ADMIN'];
      const subgraphUrl = supergraph.subgraphs[operation.subgraph]?.url;
      if (!subgraphUrl) throw new Error(`${operation.subgraph} is not running`);
      for (const corpusCase of cases) {
        const body = `{"query":${JSON.stringify(corpusCase.query)},"variables":${corpusCase.variables}}`;
        for (const role of argumentCaseCount % ADMIN_SAMPLE === 0 ? roles : roles.slice(0, 1)) {
          const init = rawPost(body, { ...json, authorization: `Bearer ${tokens[role]}` });
          const common = { label: corpusCase.label, category: corpusCase.category, init, corpusCase };
          sends.push({ ...common, where: `gateway as ${role}`, url: supergraph.gateway.url });
          if (argumentCaseCount % DIRECT_SAMPLE === 0 && role === roles[0]) {
            sends.push({ ...common, where: `${operation.subgraph} as ${role}`, url: subgraphUrl });
          }
        }
        argumentCaseCount++;
      }
    }
    sends.push(...transportCases());
    const casesRun = new Set(sends.flatMap((sent) => (sent.corpusCase ? [sent.corpusCase] : []))).size;
    outcomes.push(...(await inPool(sends, CONCURRENCY, judge)));
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const after = await settledSnapshot(supergraph, { ignoreRedisKeys: RATE_LIMIT_KEYS });

    const changed = [
      ...Object.keys({ ...before.databases, ...after.databases }).flatMap((name) =>
        Object.keys({ ...before.databases[name], ...after.databases[name] })
          .filter(
            (table) =>
              JSON.stringify(before.databases[name]?.[table]) !==
              JSON.stringify(after.databases[name]?.[table]),
          )
          .map((table) => `${name}.${table}`),
      ),
      ...Object.keys({ ...before.redis, ...after.redis })
        .filter((key) => before.redis[key] !== after.redis[key])
        .map((key) => `redis ${key}`),
    ];
    const problems = outcomes.flatMap((outcome) =>
      outcome.problems.length > 0 ? [outcome.problems.join('; ')] : [],
    );
    const internal = outcomes.filter((outcome) => outcome.codes.includes('INTERNAL_SERVER_ERROR')).length;

    console.log(
      [
        `bad-input corpus: ${casesRun} argument cases over ${operations.length} operations, ${sends.length} requests in ${seconds} s`,
        `  cases per category: ${JSON.stringify(tally(sends.map((s) => s.category)))}`,
        `  requests per target: ${JSON.stringify(tally(sends.map((s) => s.where.replace(/ as .*/, ''))))}`,
        `  codes seen: ${JSON.stringify(tally(outcomes.flatMap((o) => o.codes)))}`,
        `  statuses: ${JSON.stringify(tally(outcomes.map((o) => String(o.status))))}`,
        `  answered without an error as documented: ${JSON.stringify(tally(outcomes.flatMap((o) => (o.answered ? [o.answered] : []))))}`,
        `  ${internal} INTERNAL_SERVER_ERROR, ${problems.length} problems, ${changed.length} state changes`,
      ].join('\n'),
    );
    const slowest = [...outcomes].sort((a, b) => b.ms - a.ms).slice(0, 3);
    for (const outcome of slowest) {
      console.log(`  slowest: ${outcome.ms.toFixed(0)} ms ${outcome.sent.where} ${outcome.sent.label}`);
    }
    for (const problem of problems) console.log(`  problem: ${problem}`);
    if (changed.length > 0) console.log(`  changed: ${changed.join(', ')}`);
    expect(casesRun).toBeGreaterThanOrEqual(300);
    expect(problems.slice(0, 40), `${problems.length} problems`).toEqual([]);
    expect(changed).toEqual([]);
  }, 240_000);

  /** HTTP requests no service can read, on every port; each carries a mutation that would change data if run. */
  function transportCases(): Sent[] {
    const targets: [string, string, RootOperation | undefined][] = [
      ['gateway', supergraph.gateway.url, operations.find((o) => o.field.name === 'createProduct')],
      ...Object.entries(supergraph.subgraphs).map(
        ([name, subgraph]): [string, string, RootOperation | undefined] => [
          name,
          subgraph.url,
          operations.find((o) => o.subgraph === name && o.type === 'mutation'),
        ],
      ),
    ];
    const sends: Sent[] = [];
    for (const [where, url, mutation] of targets) {
      const token = mutation?.adminOnly ? tokens.ADMIN : tokens.CUSTOMER;
      const auth = { authorization: `Bearer ${token}` };
      // The mutation with valid arguments: refused only for how it is sent.
      const query = mutation ? operationText(mutation) : '{ __typename }';
      const variables = mutation ? validVariables(mutation, fixture) : {};
      const body = JSON.stringify({ query, variables });
      const add = (category: string, label: string, init: RequestInit, target = url) =>
        sends.push({ where, label, category, url: target, init });

      for (const [label, init] of badRequestBodies) add('malformed JSON and encodings', label, init);
      const bytes = Buffer.from(body);
      // Inside a string the mutation stores (a name, a SKU, a key: its valid value holds "corpus"), so a server
      // that decodes them as U+FFFD would run the mutation with text the client never sent.
      const inString = body.indexOf('orpus', body.indexOf('"variables"')) + 1;
      const invalidUtf8 = Buffer.concat([
        Buffer.from(body.slice(0, inString)),
        Buffer.from([0xc3, 0x28, 0xff]),
        Buffer.from(body.slice(inString)),
      ]);
      add('malformed JSON and encodings', 'invalid UTF-8 bytes', {
        method: 'POST',
        headers: { ...json, ...auth },
        body: invalidUtf8,
      });
      add('malformed JSON and encodings', 'a UTF-8 byte order mark', {
        method: 'POST',
        headers: { ...json, ...auth },
        body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]),
      });
      add('malformed JSON and encodings', 'a UTF-16 body', {
        method: 'POST',
        headers: { ...json, ...auth },
        body: Buffer.from(`\uFEFF${body}`, 'utf16le'),
      });
      add(
        'malformed JSON and encodings',
        'a truncated body',
        rawPost(body.slice(0, -5), { ...json, ...auth }),
      );
      add(
        'malformed JSON and encodings',
        'variables as a string',
        rawPost(
          JSON.stringify({ query, variables: JSON.stringify(variables) }).replace(
            /"variables":"/,
            '"variables":"x',
          ),
          { ...json, ...auth },
        ),
      );
      add(
        'malformed JSON and encodings',
        'a query that is a number',
        rawPost('{"query": 12345}', { ...json, ...auth }),
      );
      add(
        'malformed JSON and encodings',
        'variables that are a list',
        rawPost(JSON.stringify({ query, variables: [variables] }), { ...json, ...auth }),
      );
      add(
        'malformed JSON and encodings',
        'a 100,000-deep JSON value',
        rawPost(
          `{"query":${JSON.stringify(query)},"variables":{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`,
          { ...json, ...auth },
        ),
      );
      for (const type of [
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
      ]) {
        add('wrong content types', type, rawPost(body, { 'content-type': type, ...auth }));
      }
      add('wrong content types', 'no content type', { method: 'POST', headers: auth, body });
      const search = new URLSearchParams({ query, variables: JSON.stringify(variables) });
      add(
        'GET mutations',
        'a mutation over GET',
        { method: 'GET', headers: { ...auth, 'apollo-require-preflight': 'true' } },
        `${url}?${search}`,
      );
      add(
        'GET mutations',
        'a mutation over GET without preflight header',
        { method: 'GET', headers: auth },
        `${url}?${search}`,
      );
      add('batched and huge', 'a batch of two mutations', rawPost(`[${body},${body}]`, { ...json, ...auth }));
      add('batched and huge', 'an empty batch', rawPost('[]', { ...json, ...auth }));
      add(
        'batched and huge',
        'variables over 1 MB',
        rawPost(JSON.stringify({ query, variables: { ...variables, padding: 'x'.repeat(1024 * 1024) } }), {
          ...json,
          ...auth,
        }),
      );
      add(
        'batched and huge',
        '20,000 unknown variables and a NUL',
        rawPost(
          JSON.stringify({
            query,
            variables: {
              ...variables,
              ...Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`v${i}`, i])),
              nul: '\u0000',
            },
          }),
          { ...json, ...auth },
        ),
      );
    }
    return sends;
  }
});
