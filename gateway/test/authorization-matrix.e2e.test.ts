import { type GraphQLResponse, postGraphQL, registerUser, subscribeOverWs, waitFor } from '@shop/testing';
import { Kind, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Account,
  allows,
  type Caller,
  callers,
  entities,
  type Fixtures,
  maySeeA,
  type Operation,
  operations,
  type Policy,
} from './authorization-matrix-policy';
import {
  demo,
  type SupergraphSnapshot,
  settledSnapshot,
  snapshotSupergraph,
  startTestSupergraph,
  type TestSupergraph,
} from './supergraph';

// The authorisation matrix of issue 14: every root operation of the composed supergraph × {anonymous, customer
// A, customer B, admin}, through the gateway and straight to the subgraph that owns it (subgraphs check callers
// themselves), plus `_entities` of every entity type straight to each subgraph, subscriptions over graphql-ws
// on both. Refused calls run first, between two snapshots of every database and of Redis: nothing may change.

const REFUSALS = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND']);
/** Codes of an allowed caller refused on the merits (the order is not in a state to ship, say). */
const ON_THE_MERITS = new Set(['CONFLICT', 'BAD_USER_INPUT']);
const RELAXED_LIMITS = {
  LOGIN_FAILURES_PER_ACCOUNT: '1000',
  LOGIN_FAILURES_PER_ADDRESS: '1000',
  REGISTRATIONS_PER_ADDRESS: '1000',
  REFRESHES_PER_ADDRESS: '1000',
};
/** How long a subscription of an allowed caller must stay open, and how long a refusal may take to arrive. */
const SUBSCRIBED_AFTER_MS = 2_000;
const REFUSAL_WITHIN_MS = 15_000;

type Surface = 'gateway' | 'subgraph';
type RootType = keyof typeof operations;

/** One call of the matrix: an operation (or entity) on a surface, by a caller. */
interface Call {
  row: string;
  caller: Caller;
  policy: Pick<Policy, 'access' | 'adminToo' | 'allowedCodes'>;
  run: () => Promise<{ outcome: string; data: unknown }>;
}

/** How long the slowest refusal of each subscription row took (printed with the matrix). */
const slowestRefusalMs: Record<string, number> = {};

interface Cell {
  row: string;
  caller: Caller;
  outcome: string;
  ms: number;
  /** Why this cell breaks the policy: a leak (a refused caller got something) or a wrongly refused caller. */
  leak?: string;
  wrong?: string;
}

/** ok, a refusal code, `hidden` (null for someone else's object), or `error:CODE`. */
function outcomeOf(response: GraphQLResponse, field: string): string {
  const codes = (response.errors ?? []).map((error) => String(error.extensions?.code));
  const refusal = codes.find((code) => REFUSALS.has(code));
  if (refusal) return refusal;
  if (codes.length > 0) return `error:${codes[0]}`;
  const value = (response.data as Record<string, unknown> | null | undefined)?.[field];
  const first = field === '_entities' && Array.isArray(value) ? value[0] : value;
  return first === null || first === undefined ? 'hidden' : 'ok';
}

/** Root fields of an SDL (`type Query` and `extend type Query` alike), by root type. */
function rootFieldsOf(sdl: string): Record<RootType, string[]> {
  const roots: Record<RootType, string[]> = { Query: [], Mutation: [], Subscription: [] };
  for (const definition of parse(sdl).definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.OBJECT_TYPE_EXTENSION)
      continue;
    const name = definition.name.value as RootType;
    if (!(name in roots)) continue;
    roots[name].push(...(definition.fields ?? []).map((field) => field.name.value));
  }
  return roots;
}

/** Resolvable entity types (`@key` without `resolvable: false`) of an SDL. */
function entityTypesOf(sdl: string): string[] {
  return parse(sdl).definitions.flatMap((definition) => {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.OBJECT_TYPE_EXTENSION)
      return [];
    const keys = (definition.directives ?? []).filter((directive) => directive.name.value === 'key');
    const resolvable = keys.some(
      (key) =>
        !(key.arguments ?? []).some(
          (argument) =>
            argument.name.value === 'resolvable' &&
            argument.value.kind === Kind.BOOLEAN &&
            !argument.value.value,
        ),
    );
    return resolvable ? [definition.name.value] : [];
  });
}

/**
 * Subscribes and watches: a refusal ends the stream (or is its first message); `subscribed` when it is still
 * open after `openForMs` without one. A refused caller is watched longer (the gateway relays a subgraph's refusal
 * after its own upstream subscribe), so a slow refusal is not mistaken for a stream.
 */
async function subscriptionOutcome(
  wsUrl: string,
  operation: Operation,
  token: string | undefined,
  openForMs: number,
  row: string,
): Promise<{ outcome: string; data: unknown }> {
  const subscription = subscribeOverWs(wsUrl, operation.query, operation.variables, token);
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const ended = await Promise.race([
      subscription.ended,
      new Promise((resolve) => {
        timer = setTimeout(() => resolve('open'), openForMs);
      }),
    ]);
    const errors = Array.isArray(ended) ? ended : (subscription.values[0]?.errors ?? []);
    const codes = (errors as { extensions?: { code?: unknown } }[]).map((error) =>
      String(error.extensions?.code),
    );
    const refusal = codes.find((code) => REFUSALS.has(code));
    // What the stream delivered (errors echo the ids the caller sent; they are not its data).
    const data = subscription.values.map((value) => value.data ?? null);
    if (refusal) {
      slowestRefusalMs[row] = Math.max(slowestRefusalMs[row] ?? 0, Date.now() - started);
      return { outcome: refusal, data };
    }
    if (codes.length > 0) return { outcome: `error:${codes[0]}`, data };
    if (ended === 'open') return { outcome: 'subscribed', data };
    return { outcome: `ended:${String((ended as { code?: unknown })?.code ?? ended)}`, data: null };
  } finally {
    clearTimeout(timer);
    await subscription.close();
  }
}

/** Runs `work` over `items` with at most `width` at once (the box has two cores). */
async function inBatches<T, R>(
  items: readonly T[],
  width: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index] as T);
      }
    }),
  );
  return results;
}

describe('the authorisation matrix (every operation × anonymous, customer A, customer B, admin)', () => {
  let supergraph: TestSupergraph;
  let fixtures: Fixtures;
  /** The subgraph that owns each root field, read from the subgraphs' own SDL. */
  const owners = new Map<string, string>();
  /** `subgraph.Type` of every resolvable entity type. */
  const entityTypes: string[] = [];
  /** What of A's no one else may see in an answer. */
  let secretsOfA: string[];
  const tokens: Partial<Record<Caller, string>> = {};

  /** Every store by name: each subgraph's database, and `redis`. */
  const stores = ({ databases, redis }: SupergraphSnapshot): Record<string, unknown> => ({
    ...databases,
    redis,
  });

  beforeAll(async () => {
    supergraph = await startTestSupergraph({ env: RELAXED_LIMITS });
    const gateway = supergraph.gateway.url;
    const send = async <D>(query: string, variables: Record<string, unknown>, token?: string) => {
      const response = await postGraphQL<D>(gateway, query, variables, token);
      if (response.errors || !response.data) throw new Error(`${query}: ${JSON.stringify(response.errors)}`);
      return response.data;
    };
    for (const [name, subgraph] of Object.entries(supergraph.subgraphs)) {
      const { _service } = (
        await postGraphQL<{ _service: { sdl: string } }>(subgraph.url, '{ _service { sdl } }')
      ).data ?? { _service: { sdl: '' } };
      for (const [type, fields] of Object.entries(rootFieldsOf(_service.sdl))) {
        for (const field of fields) owners.set(`${type}.${field}`, name);
      }
      entityTypes.push(...entityTypesOf(_service.sdl).map((type) => `${name}.${type}`));
    }

    const account = async (): Promise<Account> => {
      const registered = await registerUser(gateway);
      return {
        token: registered.accessToken,
        refreshToken: registered.refreshToken,
        email: registered.user.email,
        password: registered.password,
        userId: registered.user.id,
      };
    };
    const LOGIN = `mutation($e: String!, $p: String!) {
      login(email: $e, password: $p) { accessToken refreshToken user { id } } }`;
    const adminSession = await send<{
      login: { accessToken: string; refreshToken: string; user: { id: string } };
    }>(LOGIN, { e: demo.admin.email, p: demo.admin.password });
    const [customerA, customerB, spare] = [await account(), await account(), await account()];
    const admin: Account = {
      token: adminSession.login.accessToken,
      refreshToken: adminSession.login.refreshToken,
      email: demo.admin.email,
      password: demo.admin.password,
      userId: adminSession.login.user.id,
    };

    // An active product with stock; a product the admin deactivated (no inventory item).
    const { products } = await send<{
      products: {
        edges: { node: { id: string; inventory: { id: string; availableQuantity: number } | null } }[];
      };
    }>('{ products(first: 20) { edges { node { id inventory { id availableQuantity } } } } }', {});
    const stocked = products.edges.find((edge) => (edge.node.inventory?.availableQuantity ?? 0) >= 20)?.node;
    if (!stocked?.inventory) throw new Error('the seed has no product with stock');
    const { createProduct } = await send<{ createProduct: { id: string } }>(
      'mutation($i: CreateProductInput!) { createProduct(input: $i) { id } }',
      { i: { name: 'Hidden by the matrix', sku: `MXH-${Date.now()}`, price: '9.00' } },
      admin.token,
    );
    await send(
      'mutation($id: ID!) { updateProduct(id: $id, input: { active: false }) { id } }',
      { id: createProduct.id },
      admin.token,
    );
    // A guest cart, A's own cart, A's order (its payment and confirmation email follow by events).
    const { addCartItem: guestCart } = await send<{ addCartItem: { id: string } }>(
      'mutation($p: ID!) { addCartItem(productId: $p, quantity: 1) { id } }',
      { p: stocked.id },
    );
    await send(
      'mutation($p: ID!) { addCartItem(productId: $p, quantity: 1) { id } }',
      { p: stocked.id },
      customerA.token,
    );
    const { placeOrder } = await send<{ placeOrder: { id: string } }>(
      'mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }',
      {
        i: {
          items: [{ productId: stocked.id, quantity: 1 }],
          shippingAddress: {
            street: '1 A St',
            city: 'Springfield',
            state: 'IL',
            zipCode: '62701',
            country: 'US',
          },
        },
      },
      customerA.token,
    );
    let paymentId = '';
    let notificationId = '';
    await waitFor(
      "A's payment and confirmation",
      async () => {
        const { paymentByOrder } = await send<{ paymentByOrder: { id: string } | null }>(
          'query($id: ID!) { paymentByOrder(orderId: $id) { id } }',
          { id: placeOrder.id },
          customerA.token,
        );
        const { myNotifications } = await send<{ myNotifications: { edges: { node: { id: string } }[] } }>(
          '{ myNotifications(first: 1) { edges { node { id } } } }',
          {},
          customerA.token,
        );
        paymentId = paymentByOrder?.id ?? '';
        notificationId = myNotifications.edges[0]?.node.id ?? '';
        return paymentId !== '' && notificationId !== '';
      },
      { timeoutMs: 30_000, intervalMs: 300 },
    );

    fixtures = {
      accounts: { customerA, customerB, admin, spare },
      productId: stocked.id,
      inventoryId: stocked.inventory.id,
      inactiveProductId: createProduct.id,
      guestCartId: guestCart.id,
      orderId: placeOrder.id,
      paymentId,
      notificationId,
      freshSession: async (who) =>
        (await send<{ login: { refreshToken: string } }>(LOGIN, { e: who.email, p: who.password })).login,
    };
    secretsOfA = [customerA.userId, customerA.email, placeOrder.id, paymentId, notificationId];
    tokens.customerA = customerA.token;
    tokens.customerB = customerB.token;
    tokens.admin = admin.token;
  }, 180_000);

  afterAll(async () => {
    await supergraph?.stop();
  });

  /** Every call of the matrix, for the callers `which` picks (the refused or the allowed ones). */
  const callsFor = async (which: (policy: Policy, caller: Caller) => boolean): Promise<Call[]> => {
    const calls: Call[] = [];
    for (const [type, fields] of Object.entries(operations) as [RootType, Record<string, Policy>][]) {
      for (const [field, policy] of Object.entries(fields)) {
        const owner = supergraph.subgraphs[owners.get(`${type}.${field}`) ?? ''];
        if (!owner) throw new Error(`${type}.${field}: no subgraph serves it`);
        for (const caller of callers) {
          if (!which(policy, caller)) continue;
          const token = tokens[caller];
          for (const [surface, url] of [
            ['gateway', supergraph.gateway.url],
            ['subgraph', owner.url],
          ] as [Surface, string][]) {
            const row = `${type}.${field} @${surface === 'gateway' ? 'gateway' : owner.name}`;
            calls.push({
              row,
              caller,
              policy,
              run: async () => {
                const operation = await policy.operation(fixtures, caller);
                if (type === 'Subscription') {
                  const openForMs = allows(policy, caller) ? SUBSCRIBED_AFTER_MS : REFUSAL_WITHIN_MS;
                  return subscriptionOutcome(url.replace(/^http/, 'ws'), operation, token, openForMs, row);
                }
                const response = await postGraphQL(url, operation.query, operation.variables, token);
                return { outcome: outcomeOf(response, field), data: response.data };
              },
            });
          }
        }
      }
    }
    for (const [name, policy] of Object.entries(entities)) {
      const [subgraphName = '', typeName = ''] = name.split('.');
      const subgraph = supergraph.subgraphs[subgraphName];
      if (!subgraph) throw new Error(`${name}: no such subgraph`);
      for (const caller of callers) {
        if (!which({ ...policy, operation: () => ({ query: '' }) }, caller)) continue;
        calls.push({
          row: `_entities ${name}`,
          caller,
          policy,
          run: async () => {
            const response = await postGraphQL(
              subgraph.url,
              `query($r: [_Any!]!) { _entities(representations: $r) { ... on ${typeName} { ${policy.selection} } } }`,
              { r: [policy.representation(fixtures)] },
              tokens[caller],
            );
            return { outcome: outcomeOf(response, '_entities'), data: response.data };
          },
        });
      }
    }
    return calls;
  };

  /** Runs calls (subscriptions all at once, each holds a socket for a moment) and judges each against its policy. */
  const judge = async (calls: Call[]): Promise<Cell[]> => {
    const subscriptions = calls.filter((call) => call.row.startsWith('Subscription.'));
    const others = calls.filter((call) => !call.row.startsWith('Subscription.'));
    const run = async (call: Call): Promise<Cell> => {
      const started = Date.now();
      const { outcome, data } = await call.run();
      const cell: Cell = { row: call.row, caller: call.caller, outcome, ms: Date.now() - started };
      const allowed = allows(call.policy as Policy, call.caller);
      const code = outcome.startsWith('error:') ? outcome.slice('error:'.length) : outcome;
      if (allowed) {
        const fine =
          outcome === 'ok' ||
          outcome === 'subscribed' ||
          ON_THE_MERITS.has(code) ||
          (call.policy.allowedCodes ?? []).includes(code);
        if (!fine) cell.wrong = `allowed caller got ${outcome}`;
      } else if (!REFUSALS.has(outcome) && outcome !== 'hidden') {
        cell.leak = `refused caller got ${outcome}`;
      }
      const seen = JSON.stringify(data ?? null);
      const revealed = secretsOfA.filter((secret) => seen.includes(secret));
      if (revealed.length > 0 && !maySeeA(call.policy, call.caller)) {
        cell.leak = `${cell.leak ? `${cell.leak}; ` : ''}answer shows A's ${revealed.length} identifier(s)`;
      }
      return cell;
    };
    const [subscribed, answered] = await Promise.all([
      Promise.all(subscriptions.map(run)),
      inBatches(others, 6, run),
    ]);
    return [...answered, ...subscribed];
  };

  const printMatrix = (title: string, cells: Cell[]) => {
    const rows = [...new Set(cells.map((cell) => cell.row))];
    const width = Math.max(...rows.map((row) => row.length));
    const lines = [
      `${title}`,
      `${'operation'.padEnd(width)} | ${callers.map((caller) => caller.padEnd(16)).join(' | ')}`,
    ];
    for (const row of rows) {
      const cellsOfRow = callers.map((caller) => {
        const cell = cells.find((c) => c.row === row && c.caller === caller);
        if (!cell) return '·'.padEnd(16);
        const mark = cell.leak ? ' LEAK' : cell.wrong ? ' WRONG' : '';
        return `${cell.outcome}${mark}`.padEnd(16);
      });
      lines.push(`${row.padEnd(width)} | ${cellsOfRow.join(' | ')}`);
    }
    console.info(lines.join('\n'));
  };

  it('covers every root field of the composed supergraph and every entity type of every subgraph', async () => {
    const { data } = await postGraphQL<{
      __schema: Record<string, { fields: { name: string }[] } | null>;
    }>(
      supergraph.gateway.url,
      `{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }`,
    );
    const composed = Object.fromEntries(
      (['queryType', 'mutationType', 'subscriptionType'] as const).map((key, index) => [
        (['Query', 'Mutation', 'Subscription'] as const)[index],
        (data?.__schema[key]?.fields ?? []).map((field) => field.name).sort(),
      ]),
    );
    const declared = Object.fromEntries(
      Object.entries(operations).map(([type, fields]) => [type, Object.keys(fields).sort()]),
    );
    // A new operation without a policy line fails here.
    expect(declared).toEqual(composed);
    expect(Object.keys(entities).sort()).toEqual([...entityTypes].sort());
  });

  it('refuses every caller the policy refuses, with a refusal and no change anywhere; lets the others through', async () => {
    const started = Date.now();
    // Waits until the fixtures' events, relays and jobs have finished.
    const before = stores(await settledSnapshot(supergraph, { timeoutMs: 60_000, intervalMs: 1_000 }));
    const settledAt = Date.now();
    const refused = await judge(await callsFor((policy, caller) => !allows(policy, caller)));
    const refusedAt = Date.now();
    const after = stores(await snapshotSupergraph(supergraph));
    const changed = Object.keys({ ...before, ...after }).filter(
      (store) => JSON.stringify(before[store]) !== JSON.stringify(after[store]),
    );
    const allowedFrom = Date.now();
    const allowed = await judge(await callsFor((policy, caller) => allows(policy, caller)));
    console.info(
      `settling ${settledAt - started} ms, refused calls ${refusedAt - settledAt} ms, allowed calls ${Date.now() - allowedFrom} ms`,
    );
    const cells = [...refused, ...allowed];
    printMatrix(
      `authorisation matrix: ${cells.length} calls (${refused.length} refused by policy, ${allowed.length} allowed)`,
      cells,
    );
    console.info(
      `slowest subscription refusals: ${Object.entries(slowestRefusalMs)
        .map(([row, ms]) => `${row} ${ms} ms`)
        .join(', ')}`,
    );
    const slowest = [...cells].sort((a, b) => b.ms - a.ms).slice(0, 5);
    console.info(
      `slowest calls: ${slowest.map((cell) => `${cell.row} as ${cell.caller} ${cell.ms} ms`).join(', ')}`,
    );
    const leaks = cells.filter((cell) => cell.leak);
    const wrong = cells.filter((cell) => cell.wrong);
    console.info(
      `leaks: ${leaks.length + changed.length} (${leaks.length} answers, ${changed.length} stores changed by refused calls${changed.length ? `: ${changed.join(', ')}` : ''}); wrongly refused: ${wrong.length}`,
    );
    expect(leaks.map((cell) => `${cell.row} as ${cell.caller}: ${cell.leak}`)).toEqual([]);
    expect(changed).toEqual([]);
    expect(wrong.map((cell) => `${cell.row} as ${cell.caller}: ${cell.wrong}`)).toEqual([]);
    // Not vacuous: every caller was refused somewhere and let through somewhere, on both surfaces.
    for (const caller of callers.filter((caller) => caller !== 'admin')) {
      expect(refused.some((cell) => cell.caller === caller && REFUSALS.has(cell.outcome))).toBe(true);
    }
    for (const caller of callers)
      expect(allowed.some((cell) => cell.caller === caller && cell.outcome === 'ok')).toBe(true);
  }, 240_000);
});
