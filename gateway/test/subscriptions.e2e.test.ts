import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { composeServices } from '@apollo/composition';
import {
  createGraphQLWsClient,
  forbidden,
  type GraphQLWsClient,
  type RequestContext,
  type RunningSubgraph,
  requireAdmin,
  requireViewer,
  startSubgraphServer,
  WebSocket,
} from '@shop/kit';
import { createTestKeys, type TestKeys, testLogger, waitFor } from '@shop/testing';
import { type DocumentNode, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGateway, startGateway } from '../src/gateway';
import { BoundedChannel } from '../src/subscriptions/channel';
import { plannerOf } from '../src/subscriptions/internals';

// Two tiny subgraphs: `alerts` serves subscriptions fed by feeds this test controls; `catalog` owns Product.name,
// which the subscriptions select, so every event is hydrated by a second fetch (the plan's `rest`).
const alertsTypeDefs = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query {
    alertsVersion: String
  }
  type Alert {
    id: ID!
    level: Int!
    product: Product!
  }
  type Product @key(fields: "id", resolvable: false) {
    id: ID!
  }
  type Subscription {
    alerts(topic: String!): Alert!
    adminAlerts: Alert!
  }
`);

const catalogTypeDefs = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query {
    catalogProduct(id: ID!): Product
  }
  type Product @key(fields: "id") {
    id: ID!
    name: String!
  }
`);

type AlertEvent = { id: string; level: number; product: { id: string } };

/** A topic the test publishes on; every subscription the subgraph opens on it is a channel counted here. */
class Feed {
  readonly open = new Set<BoundedChannel<AlertEvent | Error>>();
  opened = 0;
  closed = 0;

  subscribe(): AsyncGenerator<AlertEvent> {
    const channel = new BoundedChannel<AlertEvent | Error>(1000, () => {
      this.open.delete(channel);
      this.closed += 1;
    });
    this.open.add(channel);
    this.opened += 1;
    const self = channel;
    // A throwing item becomes an upstream error after the events before it.
    return {
      next: async () => {
        const item = await self.next();
        if (!item.done && item.value instanceof Error) {
          await self.return();
          throw item.value;
        }
        return item as IteratorResult<AlertEvent, undefined>;
      },
      return: () => self.return(),
      throw: () => self.return(),
      [Symbol.asyncIterator]() {
        return this;
      },
    } as AsyncGenerator<AlertEvent>;
  }

  publish(item: AlertEvent | Error): void {
    for (const channel of this.open) channel.push(item);
  }

  complete(): void {
    for (const channel of [...this.open]) channel.end();
  }
}

const feeds = new Map<string, Feed>();
const feed = (topic: string) => {
  let found = feeds.get(topic);
  if (!found) {
    found = new Feed();
    feeds.set(topic, found);
  }
  return found;
};

/** Whether catalog answers `_entities` now, and how often it was asked. */
const catalog = { lookups: 0, gate: undefined as Promise<void> | undefined };

const alertsResolvers = {
  Query: { alertsVersion: () => '1' },
  Subscription: {
    alerts: {
      subscribe: (_: unknown, args: { topic: string }, ctx: RequestContext) => {
        requireViewer(ctx.viewer);
        return feed(args.topic).subscribe();
      },
      resolve: (event: AlertEvent) => event,
    },
    adminAlerts: {
      subscribe: (_: unknown, __: unknown, ctx: RequestContext) => {
        requireAdmin(ctx.viewer);
        return feed('admin').subscribe();
      },
      resolve: (event: AlertEvent) => event,
    },
  },
};

const catalogResolvers = {
  Query: { catalogProduct: (_: unknown, args: { id: string }) => ({ id: args.id }) },
  Product: {
    __resolveReference: async (ref: { id: string }) => {
      catalog.lookups += 1;
      await catalog.gate;
      return ref;
    },
    name: (product: { id: string }) => `Product ${product.id}`,
  },
};

interface Received {
  values: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] }[];
  error: unknown;
  completed: boolean;
  ended: Promise<void>;
  unsubscribe: () => void;
}

function subscribe(
  client: GraphQLWsClient,
  query: string,
  variables: Record<string, unknown> = {},
): Received {
  const received: Received = {
    values: [],
    error: undefined,
    completed: false,
    ended: Promise.resolve(),
    unsubscribe: () => {},
  };
  received.ended = new Promise((resolve) => {
    received.unsubscribe = client.subscribe(
      { query, variables },
      {
        next: (value) => received.values.push(value as Received['values'][number]),
        error: (error) => {
          received.error = error;
          resolve();
        },
        complete: () => {
          received.completed = true;
          resolve();
        },
      },
    );
  });
  return received;
}

/** The first error's code, whether graphql-ws gave an error list or a close event. */
function codeOf(error: unknown): string | number | undefined {
  if (Array.isArray(error)) return (error[0] as { extensions?: { code?: string } })?.extensions?.code;
  if (typeof error === 'object' && error !== null && 'code' in error) return (error as { code: number }).code;
  return undefined;
}

/**
 * A TCP proxy in front of a subgraph that can freeze: it stops forwarding in both directions and keeps the
 * connections open, as a half-open network path (a dead NAT entry, a paused VM) would.
 */
async function startFreezableProxy(
  target: string,
): Promise<{ url: string; freeze(): void; stop(): Promise<void> }> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let frozen = false;
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(Number(port), hostname);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.on('data', (chunk) => {
        if (!frozen) to.write(chunk);
      });
      from.on('error', () => to.destroy());
      from.on('close', () => {
        sockets.delete(from);
        to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}/graphql`,
    freeze: () => {
      frozen = true;
    },
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const alertQuery = `subscription Alerts($topic: String!) { alerts(topic: $topic) { id level product { id name } } }`;
const event = (id: string, level = 1): AlertEvent => ({ id, level, product: { id: `p-${id}` } });

describe('subscriptions through the gateway', () => {
  let keys: TestKeys;
  let alerts: RunningSubgraph;
  let catalogServer: RunningSubgraph;
  let gateway: RunningGateway;
  let customer: string;
  const clients: GraphQLWsClient[] = [];

  const compose = (alertsUrl: string) => {
    const services: { name: string; url: string; typeDefs: DocumentNode }[] = [
      { name: 'alerts', url: alertsUrl, typeDefs: alertsTypeDefs },
      { name: 'catalog', url: catalogServer.url, typeDefs: catalogTypeDefs },
    ];
    const result = composeServices(services);
    if (result.errors) throw new Error(result.errors.map((e) => e.message).join('\n'));
    return result.supergraphSdl;
  };

  const connect = (token?: string): GraphQLWsClient => {
    const client = createGraphQLWsClient({
      url: gateway.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    });
    clients.push(client);
    return client;
  };

  const settled = () =>
    waitFor('every subscription to end', () => {
      const stats = gateway.subscriptions.streams.stats();
      return stats.streams === 0 && stats.subscribers === 0 && gateway.subscriptions.pool.size === 0;
    });

  beforeAll(async () => {
    keys = await createTestKeys();
    const common = { port: 0, host: '127.0.0.1', tokenVerifier: keys.verifier };
    alerts = await startSubgraphServer({
      ...common,
      name: 'alerts',
      typeDefs: alertsTypeDefs,
      resolvers: alertsResolvers,
      logger: testLogger('alerts'),
    });
    catalogServer = await startSubgraphServer({
      ...common,
      name: 'catalog',
      typeDefs: catalogTypeDefs,
      resolvers: catalogResolvers,
      logger: testLogger('catalog'),
    });
    gateway = await startGateway({
      supergraphSdl: compose(alerts.url),
      port: 0,
      host: '127.0.0.1',
      tokenVerifier: keys.verifier,
      logger: testLogger('gateway'),
      maxQueryDepth: 3,
      maxIntrospectionDepth: 4,
      subscriptionLimits: {
        maxSubscriptionsPerUser: 3,
        maxSubscriptions: 4,
        maxQueue: 2,
        keepAliveMs: 500,
        maxMessageBytes: 64 * 1024,
      },
      sharedSubscriptions: { adminAlerts: 'ADMIN' },
    });
    customer = await keys.tokenFor('CUSTOMER');
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await gateway?.stop();
    await catalogServer?.stop();
    await alerts?.stop();
  });

  it('reads the ApolloGateway internals it relies on (@apollo/gateway 2.14.4)', () => {
    const planner = plannerOf(gateway.subscriptions.streams.options.gateway);
    expect(planner.serviceMap).toHaveProperty('alerts');
    expect(typeof planner.queryPlanner.buildQueryPlan).toBe('function');
  });

  it('streams events hydrated with fields of another subgraph, and an unsubscribe reaches the subgraph', async () => {
    const topic = feed('hydrate');
    const client = connect(customer);
    const sub = subscribe(client, alertQuery, { topic: 'hydrate' });
    await waitFor('the upstream subscription', () => topic.open.size === 1);
    const lookups = catalog.lookups;
    topic.publish(event('1', 3));
    topic.publish(event('2', 5));
    await waitFor('two events', () => sub.values.length === 2);
    expect(sub.values).toEqual([
      { data: { alerts: { id: '1', level: 3, product: { id: 'p-1', name: 'Product p-1' } } } },
      { data: { alerts: { id: '2', level: 5, product: { id: 'p-2', name: 'Product p-2' } } } },
    ]);
    expect(catalog.lookups - lookups).toBe(2);
    sub.unsubscribe();
    await waitFor("the subgraph's iterator to be returned", () => topic.closed === 1);
    await settled();
  });

  it('pools upstream sockets per caller and completes the client when the subgraph completes', async () => {
    const client = connect(customer);
    const first = subscribe(client, alertQuery, { topic: 'pool-a' });
    const second = subscribe(client, alertQuery, { topic: 'pool-b' });
    await waitFor(
      'both upstream subscriptions',
      () => feed('pool-a').open.size + feed('pool-b').open.size === 2,
    );
    expect(gateway.subscriptions.pool.size).toBe(1);
    feed('pool-a').publish(event('a'));
    feed('pool-a').complete();
    await first.ended;
    expect(first.completed).toBe(true);
    expect(first.values).toHaveLength(1);
    second.unsubscribe();
    await settled();
  });

  it('passes a coded upstream error on and masks an unexpected one', async () => {
    const client = connect(customer);
    const coded = subscribe(client, alertQuery, { topic: 'coded' });
    await waitFor('the upstream subscription', () => feed('coded').open.size === 1);
    feed('coded').publish(event('c'));
    feed('coded').publish(forbidden('Not your alerts'));
    await coded.ended;
    expect(coded.values).toHaveLength(1);
    expect(coded.error).toEqual([{ message: 'Not your alerts', extensions: { code: 'FORBIDDEN' } }]);

    const masked = subscribe(client, alertQuery, { topic: 'masked' });
    await waitFor('the upstream subscription', () => feed('masked').open.size === 1);
    feed('masked').publish(new Error('password=hunter2 at /work/secret.ts:12'));
    await masked.ended;
    expect(codeOf(masked.error)).toBe('INTERNAL_SERVER_ERROR');
    expect(JSON.stringify(masked.error)).not.toMatch(/hunter2|work|127\.0\.0\.1/);
    await settled();
  });

  it('refuses a forged token on connect and lets the subgraph refuse an anonymous subscriber', async () => {
    const foreign = await (await createTestKeys()).tokenFor('ADMIN');
    const forged = subscribe(connect(foreign), alertQuery, { topic: 'x' });
    await forged.ended;
    expect(codeOf(forged.error)).toBe(4403);

    // A subgraph refusing in its subscribe resolver answers one result with the error, then completes.
    const anonymous = subscribe(connect(), alertQuery, { topic: 'x' });
    await anonymous.ended;
    expect(anonymous.values).toEqual([
      { data: null, errors: [{ message: expect.any(String), extensions: { code: 'UNAUTHENTICATED' } }] },
    ]);
    const notAdmin = subscribe(connect(customer), 'subscription { adminAlerts { id } }');
    await notAdmin.ended;
    expect(notAdmin.values[0]?.errors?.[0]).toEqual({
      message: 'Only an admin may do this',
      extensions: { code: 'FORBIDDEN' },
    });
    await settled();
  });

  it('checks operations on the socket as over HTTP, and runs queries through the gateway', async () => {
    const client = connect(customer);
    const invalid = subscribe(client, 'subscription { alerts(topic: "x") { nope } }');
    await invalid.ended;
    expect(codeOf(invalid.error)).toBe('GRAPHQL_VALIDATION_FAILED');
    const syntax = subscribe(client, 'subscription {');
    await syntax.ended;
    expect(codeOf(syntax.error)).toBe('GRAPHQL_PARSE_FAILED');
    const nul = subscribe(client, alertQuery, { topic: 'a\u0000b' });
    await nul.ended;
    expect(codeOf(nul.error)).toBe('BAD_USER_INPUT');
    const missing = subscribe(client, alertQuery, {});
    await missing.ended;
    expect(codeOf(missing.error)).toBe('BAD_USER_INPUT');
    const ambiguous = subscribe(
      client,
      'subscription S { alerts(topic: "x") { id } } query Q { alertsVersion }',
    );
    await ambiguous.ended;
    expect(codeOf(ambiguous.error)).toBe('OPERATION_RESOLUTION_FAILURE');
    const deep = subscribe(client, '{ __schema { types { fields { type { name } } } } }');
    await deep.ended;
    expect(deep.error).toEqual([
      { message: expect.stringMatching(/limit is 4/), extensions: { code: 'BAD_USER_INPUT' } },
    ]);
    const query = subscribe(client, '{ alertsVersion catalogProduct(id: "9") { name } }');
    await query.ended;
    expect(query.values).toEqual([{ data: { alertsVersion: '1', catalogProduct: { name: 'Product 9' } } }]);
    await settled();
  });

  it('limits subscriptions per user and in total, with a coded refusal', async () => {
    const client = connect(customer);
    const mine = [1, 2, 3].map((n) => subscribe(client, alertQuery, { topic: `limit-${n}` }));
    await waitFor(
      'three upstream subscriptions',
      () => gateway.subscriptions.streams.stats().subscribers === 3,
    );
    const fourth = subscribe(client, alertQuery, { topic: 'limit-4' });
    await fourth.ended;
    expect(fourth.error).toEqual([
      { message: expect.stringMatching(/limit is 3/), extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } },
    ]);
    const others = connect(await keys.tokenFor('CUSTOMER'));
    const fifth = subscribe(others, alertQuery, { topic: 'limit-5' });
    const sixth = subscribe(others, alertQuery, { topic: 'limit-6' });
    await sixth.ended;
    expect(codeOf(sixth.error)).toBe('TOO_MANY_SUBSCRIPTIONS');
    // A place freed is a place taken again.
    mine[0]?.unsubscribe();
    await waitFor('a free place', () => gateway.subscriptions.streams.stats().subscribers === 4);
    const again = subscribe(client, alertQuery, { topic: 'limit-7' });
    await waitFor('the new subscription', () => feed('limit-7').open.size === 1);
    for (const sub of [...mine, fifth, again]) sub.unsubscribe();
    await settled();
    expect(again.error).toBeUndefined();
  });

  it('ends a subscription whose events pile up past the queue (overflow), after the events already queued', async () => {
    let open: () => void = () => {};
    catalog.gate = new Promise((resolve) => {
      open = resolve;
    });
    const topic = feed('slow');
    const sub = subscribe(connect(customer), alertQuery, { topic: 'slow' });
    await waitFor('the upstream subscription', () => topic.open.size === 1);
    for (const id of ['1', '2', '3', '4']) topic.publish(event(id));
    await sub.ended;
    catalog.gate = undefined;
    open();
    expect(sub.error).toEqual([
      {
        message: expect.stringMatching(/More than 2 events/),
        extensions: { code: 'SUBSCRIPTION_QUEUE_OVERFLOW' },
      },
    ]);
    await waitFor('the upstream unsubscribe', () => topic.closed === 1);
    await settled();
  });

  it('shares one upstream subscription and one hydration per event between admins', async () => {
    const topic = feed('admin');
    const query = 'subscription { adminAlerts { id product { name } } }';
    const first = subscribe(connect(await keys.tokenFor('ADMIN')), query);
    const second = subscribe(connect(await keys.tokenFor('ADMIN')), query);
    await waitFor('both subscribers', () => gateway.subscriptions.streams.stats().subscribers === 2);
    await waitFor('the upstream subscription', () => topic.open.size === 1);
    expect(gateway.subscriptions.streams.stats().streams).toBe(1);
    const hydrations = gateway.subscriptions.streams.hydrations;
    topic.publish(event('s1'));
    await waitFor('both deliveries', () => first.values.length === 1 && second.values.length === 1);
    expect(first.values[0]).toEqual({
      data: { adminAlerts: { id: 's1', product: { name: 'Product p-s1' } } },
    });
    expect(second.values).toEqual(first.values);
    expect(gateway.subscriptions.streams.hydrations - hydrations).toBe(1);
    expect(topic.opened).toBe(1);
    // The stream outlives the first subscriber, and ends upstream with the last.
    first.unsubscribe();
    topic.publish(event('s2'));
    await waitFor('the next event', () => second.values.length === 2);
    second.unsubscribe();
    await waitFor('the upstream unsubscribe', () => topic.closed === 1);
    await settled();
  });

  it("hands a shared stream over to another member when the carrier's token expires", async () => {
    const topic = feed('admin');
    const query = 'subscription { adminAlerts { id } }';
    const opened = topic.opened;
    const carrier = subscribe(connect(await keys.tokenFor('ADMIN', 2)), query);
    await waitFor('the upstream subscription', () => topic.open.size === 1);
    const other = subscribe(connect(await keys.tokenFor('ADMIN')), query);
    await waitFor('both subscribers', () => gateway.subscriptions.streams.stats().subscribers === 2);
    await carrier.ended;
    expect([4401, 'UNAUTHENTICATED']).toContain(codeOf(carrier.error));
    await waitFor(
      'the upstream resubscribed with the other token',
      () => topic.opened === opened + 2 && topic.open.size === 1,
    );
    topic.publish(event('h1'));
    await waitFor('the event', () => other.values.length === 1);
    expect(other.values[0]).toEqual({ data: { adminAlerts: { id: 'h1' } } });
    expect(other.error).toBeUndefined();
    other.unsubscribe();
    await settled();
  });

  it('pings clients and drops one that stops answering (keep-alive)', async () => {
    // A raw socket that never answers pings; graphql-ws clients answer them by themselves.
    const silent = new WebSocket(gateway.wsUrl, 'graphql-transport-ws', { autoPong: false });
    let pinged = 0;
    silent.on('ping', () => {
      pinged += 1;
    });
    await new Promise((resolve) => silent.once('open', resolve));
    silent.send(
      JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${customer}` } }),
    );
    const closed = await new Promise<number>((resolve) => silent.once('close', resolve));
    expect(pinged).toBeGreaterThan(0);
    expect(closed).toBe(1006); // terminated: no close handshake with a peer that does not answer
  });

  it('closes a socket that sends a message larger than the limit (1009)', async () => {
    const sub = subscribe(connect(customer), alertQuery, { topic: 'x'.repeat(70 * 1024) });
    await sub.ended;
    expect(codeOf(sub.error)).toBe(1009);
    await settled();
  });

  it('closes a socket when its token expires (4401)', async () => {
    const shortLived = await keys.tokenFor('CUSTOMER', 2);
    const sub = subscribe(connect(shortLived), alertQuery, { topic: 'expiry' });
    await sub.ended;
    expect(codeOf(sub.error)).toBe(4401);
    await settled();
  });

  it('ends subscriptions with SUPERGRAPH_RELOADED when another supergraph is loaded', async () => {
    const sub = subscribe(connect(customer), alertQuery, { topic: 'reload' });
    await waitFor('the upstream subscription', () => feed('reload').open.size === 1);
    // The same subgraphs at a different address string: a different supergraph.
    gateway.reloadSupergraph(compose(`${alerts.url}?v=2`));
    await sub.ended;
    expect(codeOf(sub.error)).toBe('SUPERGRAPH_RELOADED');
    await waitFor('the upstream unsubscribe', () => feed('reload').closed === 1);
    const after = subscribe(connect(customer), alertQuery, { topic: 'reloaded' });
    await waitFor('a subscription on the new supergraph', () => feed('reloaded').open.size === 1);
    feed('reloaded').publish(event('r'));
    await waitFor('its event', () => after.values.length === 1);
    after.unsubscribe();
    await settled();
  });

  it('ends a subscription with SUBGRAPH_UNAVAILABLE when the subgraph stops answering pings (half-open path)', async () => {
    const proxy = await startFreezableProxy(alerts.url);
    const viaProxy = await startGateway({
      supergraphSdl: compose(proxy.url),
      port: 0,
      host: '127.0.0.1',
      tokenVerifier: keys.verifier,
      logger: testLogger('gateway-via-proxy'),
      subscriptionLimits: { keepAliveMs: 300 },
    });
    try {
      const client = createGraphQLWsClient({
        url: viaProxy.wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${customer}` },
      });
      clients.push(client);
      const sub = subscribe(client, alertQuery, { topic: 'half-open' });
      await waitFor('the upstream subscription', () => feed('half-open').open.size === 1);
      feed('half-open').publish(event('before'));
      await waitFor('the event before the freeze', () => sub.values.length === 1);
      proxy.freeze();
      const frozenAt = Date.now();
      // The client's own socket to the gateway stays healthy: the error comes from the gateway's upstream ping.
      await sub.ended;
      // Not a hang: a missed ping (300 ms) ends it, not a TCP or close-handshake timeout (tens of seconds).
      expect(Date.now() - frozenAt).toBeLessThan(10_000);
      expect(codeOf(sub.error)).toBe('SUBGRAPH_UNAVAILABLE');
      await waitFor('the upstream socket to be dropped', () => viaProxy.subscriptions.pool.size === 0);
    } finally {
      await viaProxy.stop();
      await proxy.stop();
    }
  });

  it('ends the client subscription with an error when the subgraph goes away (never a hang)', async () => {
    const sub = subscribe(connect(customer), alertQuery, { topic: 'gone' });
    await waitFor('the upstream subscription', () => feed('gone').open.size === 1);
    await alerts.stop();
    await sub.ended;
    expect(codeOf(sub.error)).toBe('SUBGRAPH_UNAVAILABLE');
    expect(JSON.stringify(sub.error)).not.toMatch(/127\.0\.0\.1|localhost|ECONNREFUSED/);
    // Nothing listens there now: a new subscription fails the same way instead of waiting.
    const refused = subscribe(connect(customer), alertQuery, { topic: 'gone' });
    await refused.ended;
    expect(codeOf(refused.error)).toBe('SUBGRAPH_UNAVAILABLE');
    await settled();
  });
});
