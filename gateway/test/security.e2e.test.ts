import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTrustedProxies } from '@shop/kit';
import { createRedisClient } from '@shop/runtime';
import {
  createTestRedis,
  freePort,
  type OwnRedis,
  postGraphQL,
  registerUser,
  startOwnRedis,
  subscribeOverWs,
  type TestRedis,
  testLogger,
  waitFor,
} from '@shop/testing';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeSupergraph } from '../src/compose';
import { type RunningGateway, startGateway } from '../src/gateway';
import { demo, startTestSupergraph, type TestSupergraph } from './supergraph';

const codes = (result: { errors?: readonly { extensions?: Record<string, unknown> }[] | undefined }) =>
  result.errors?.map((e) => e.extensions?.code);

const LOGIN = `mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken user { id } } }`;
const CREATE_PRODUCT = `mutation Create($input: CreateProductInput!) { createProduct(input: $input) { id sku } }`;

describe('security through the gateway', () => {
  let supergraph: TestSupergraph;
  let adminToken: string;
  let customerToken: string;

  beforeAll(async () => {
    // A short sign-in window, so the test sees throttling end.
    supergraph = await startTestSupergraph({
      only: ['users', 'products'],
      env: { RATE_LIMIT_WINDOW_SECONDS: '3' },
    });
    const login = async (who: { email: string; password: string }) => {
      const response = await postGraphQL<{ login: { accessToken: string } }>(
        supergraph.gateway.url,
        LOGIN,
        who,
      );
      if (!response.data?.login) throw new Error(JSON.stringify(response.errors));
      return response.data.login.accessToken;
    };
    adminToken = await login(demo.admin);
    customerToken = await login(demo.customer);
  });

  afterAll(async () => {
    await supergraph?.stop();
  });

  it('throttles sign-in after 5 failures (the right password too), then lets the account in after the window', async () => {
    const account = await registerUser(supergraph.gateway.url);
    const login = (password: string) =>
      postGraphQL(supergraph.gateway.url, LOGIN, { email: account.user.email, password });
    for (let attempt = 1; attempt <= 5; attempt++) {
      expect(codes(await login(`wrong ${attempt}`))).toEqual(['UNAUTHENTICATED']);
    }
    const started = Date.now();
    const throttled = await login(account.password);
    expect(codes(throttled)).toEqual(['RATE_LIMITED']);
    expect(throttled.errors?.[0]?.extensions?.retryAfterSeconds).toEqual(expect.any(Number));
    expect(JSON.stringify(throttled)).not.toMatch(/redis|rate:|127\.0\.0\.1/i);
    await waitFor('the window to end', async () => (await login(account.password)).errors === undefined, {
      timeoutMs: 15_000,
      intervalMs: 500,
    });
    expect(Date.now() - started).toBeGreaterThan(500);
  });

  it('honours @requiresScopes before planning: anonymous 401, customer 403, admin allowed', async () => {
    const products = supergraph.subgraphs.products;
    if (!products) throw new Error('products is not running');
    const input = () => ({
      input: { name: 'Guarded', sku: `SEC-${randomUUID().slice(0, 8)}`, price: '5.00' },
    });
    products.sql.length = 0;
    const anonymous = await postGraphQL(supergraph.gateway.url, CREATE_PRODUCT, input());
    expect({ status: anonymous.status, codes: codes(anonymous) }).toEqual({
      status: 401,
      codes: ['UNAUTHENTICATED'],
    });
    const customer = await postGraphQL(supergraph.gateway.url, CREATE_PRODUCT, input(), customerToken);
    expect({ status: customer.status, codes: codes(customer) }).toEqual({
      status: 403,
      codes: ['FORBIDDEN'],
    });
    // Refused at the gateway: the products subgraph never saw either request.
    expect(products.sql).toEqual([]);
    const admin = await postGraphQL(supergraph.gateway.url, CREATE_PRODUCT, input(), adminToken);
    expect(admin.errors).toBeUndefined();
    // The subgraph still checks by itself when called directly.
    const direct = await postGraphQL(products.url, CREATE_PRODUCT, input(), customerToken);
    expect(codes(direct)).toEqual(['FORBIDDEN']);
  });

  it('honours @authenticated, also inside fragments, refusing the whole operation', async () => {
    const query = 'query { products(first: 1) { totalCount } ...Me } fragment Me on Query { me { id } }';
    const anonymous = await postGraphQL(supergraph.gateway.url, query);
    expect({ status: anonymous.status, codes: codes(anonymous), data: anonymous.data ?? null }).toEqual({
      status: 401,
      codes: ['UNAUTHENTICATED'],
      data: null,
    });
    const signedIn = await postGraphQL(supergraph.gateway.url, query, {}, customerToken);
    expect(signedIn.errors).toBeUndefined();
  });

  it('applies the same directives to subscriptions over graphql-ws, before planning', async () => {
    const codesOf = async (token?: string) => {
      const operation = subscribeOverWs(
        supergraph.gateway.wsUrl,
        'subscription { lowStockAlerts { availableQuantity } }',
        {},
        token,
      );
      try {
        const ended = await operation.ended;
        const errors = Array.isArray(ended) ? ended : (operation.values[0]?.errors ?? []);
        return (errors as { extensions?: { code?: unknown } }[]).map((e) => e.extensions?.code);
      } finally {
        await operation.close();
      }
    };
    // inventory is not even running here: the gateway refuses without asking it.
    expect(await codesOf()).toEqual(['UNAUTHENTICATED']);
    expect(await codesOf(customerToken)).toEqual(['FORBIDDEN']);
  });

  it('refuses a token issued in the future (beyond 30 s of clock skew) at the gateway and the subgraphs', async () => {
    const now = Math.floor(Date.now() / 1000);
    const { privateKeyPem } = supergraph.keys;
    const { importPKCS8 } = await import('jose');
    const key = await importPKCS8(privateKeyPem, 'EdDSA');
    const future = await new SignJWT({ role: 'ADMIN', email: 'future@example.com' })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setSubject(randomUUID())
      .setIssuer('shop-supergraph/users')
      .setAudience('shop-supergraph')
      .setIssuedAt(now + 3600)
      .setExpirationTime(now + 7200)
      .sign(key);
    const viaGateway = await postGraphQL(
      supergraph.gateway.url,
      '{ products(first: 1) { totalCount } }',
      {},
      future,
    );
    expect({ status: viaGateway.status, codes: codes(viaGateway) }).toEqual({
      status: 401,
      codes: ['UNAUTHENTICATED'],
    });
    for (const name of ['users', 'products']) {
      const url = supergraph.subgraphs[name]?.url ?? '';
      expect(codes(await postGraphQL(url, '{ __typename }', {}, future))).toEqual(['UNAUTHENTICATED']);
    }
  });
});

describe('the per-client limit of the gateway (Redis, across instances)', () => {
  let supergraph: TestSupergraph;
  let redis: TestRedis;
  const gateways: RunningGateway[] = [];

  beforeAll(async () => {
    supergraph = await startTestSupergraph({ only: ['products'] });
    redis = await createTestRedis();
    const { supergraphSdl } = await composeSupergraph(
      Object.fromEntries(
        Object.entries(supergraph.subgraphs).map(([name, subgraph]) => [name, subgraph.url]),
      ),
    );
    for (const n of [1, 2]) {
      gateways.push(
        await startGateway({
          supergraphSdl,
          port: 0,
          host: '127.0.0.1',
          tokenVerifier: supergraph.keys.verifier,
          logger: testLogger(`gateway-${n}`),
          clientRateLimit: { redis: redis.redis, limit: 6, windowSeconds: 60 },
        }),
      );
    }
  });

  afterAll(async () => {
    for (const gateway of gateways) await gateway.stop();
    await redis?.cleanup();
    await supergraph?.stop();
  });

  it('refuses the 7th operation of one client across two gateways with RATE_LIMITED, 429 and Retry-After', async () => {
    const query = JSON.stringify({ query: '{ products(first: 1) { totalCount } }' });
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let n = 0; n < 8; n++) {
      last = await fetch(gateways[n % 2]?.url ?? '', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: query,
      });
      statuses.push(last.status);
      if (n < 7) await last.text();
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
    expect(Number(last?.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = (await last?.json()) as { errors: { extensions: Record<string, unknown> }[] };
    expect(body.errors[0]?.extensions).toEqual({
      code: 'RATE_LIMITED',
      retryAfterSeconds: expect.any(Number),
    });
    // A signed-in user has a budget of their own.
    const token = await supergraph.keys.tokenFor('CUSTOMER');
    const signedIn = await postGraphQL(
      gateways[0]?.url ?? '',
      '{ products(first: 1) { totalCount } }',
      {},
      token,
    );
    expect(signedIn.errors).toBeUndefined();
  });
});

describe('behind a proxy (TRUSTED_PROXIES, X-Forwarded-For) and while Redis is down', () => {
  let dir: string;
  /** A private redis-server for users' sign-in limits and the gateway's per-client limit, stopped in a test. */
  let redis: OwnRedis;
  let gatewayRedis: ReturnType<typeof createRedisClient>;
  let usersRedis: ReturnType<typeof createRedisClient>;
  let supergraph: TestSupergraph;
  let untrusting: RunningGateway;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shop-gateway-redis-'));
    redis = await startOwnRedis(dir, await freePort());
    gatewayRedis = createRedisClient(redis.url, 'gateway:', testLogger('gateway-redis'));
    await gatewayRedis.connect();
    // Our test client connects from loopback: to the supergraph's gateway loopback is a trusted proxy.
    supergraph = await startTestSupergraph({
      only: ['users'],
      env: { REDIS_URL: redis.url },
      gateway: {
        trustedProxies: parseTrustedProxies('127.0.0.1, ::1'),
        clientRateLimit: { redis: gatewayRedis, limit: 1000, windowSeconds: 60 },
      },
    });
    const users = supergraph.subgraphs.users;
    if (!users) throw new Error('users is not running');
    usersRedis = createRedisClient(redis.url, users.env.REDIS_KEY_PREFIX ?? '', testLogger('users-redis'));
    await usersRedis.connect();
    const { supergraphSdl } = await composeSupergraph({ users: users.url });
    // The same subgraph behind a gateway that trusts no proxy (the default).
    untrusting = await startGateway({
      supergraphSdl,
      port: 0,
      host: '127.0.0.1',
      tokenVerifier: supergraph.keys.verifier,
      logger: testLogger('gateway-untrusting'),
      gatewaySecret: users.env.GATEWAY_SECRET,
    });
  });

  afterAll(async () => {
    await untrusting?.stop();
    await supergraph?.stop();
    gatewayRedis?.disconnect();
    usersRedis?.disconnect();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** One failed sign-in through `gatewayUrl`, sent with that X-Forwarded-For header. */
  const failLogin = async (gatewayUrl: string, forwardedFor: string) => {
    const response = await fetch(gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
      body: JSON.stringify({
        query: LOGIN,
        variables: { email: `xff-${randomUUID()}@example.com`, password: 'not the password' },
      }),
    });
    expect(codes((await response.json()) as Parameters<typeof codes>[0])).toEqual(['UNAUTHENTICATED']);
  };
  /** The failed sign-ins users counted for each address (its per-address limit, fed by the signed header). */
  const countedFor = async (...addresses: string[]) => {
    const counts = await Promise.all(addresses.map((a) => usersRedis.get(`rate:login-address:${a}`)));
    return Object.fromEntries(addresses.map((address, n) => [address, Number(counts[n] ?? 0)]));
  };

  it('from a trusted proxy takes the right-most untrusted X-Forwarded-For entry; from anyone else ignores it', async () => {
    const proxy = '127.0.0.1';
    const { [proxy]: before } = await countedFor(proxy);
    // Through a trusted proxy: the entries the client wrote itself (left) are not believed.
    await failLogin(supergraph.gateway.url, '198.51.100.7, 203.0.113.50');
    await failLogin(supergraph.gateway.url, '203.0.113.60, 127.0.0.1');
    // An entry that is no address: the last proxy reached is the client.
    await failLogin(supergraph.gateway.url, '<script>, 10.0.0.1:99');
    // Straight to a gateway that trusts no proxy: spoofed X-Forwarded-For is ignored.
    await failLogin(untrusting.url, '203.0.113.70');
    expect(await countedFor('203.0.113.50', '198.51.100.7', '203.0.113.60', '203.0.113.70', proxy)).toEqual({
      '203.0.113.50': 1,
      '198.51.100.7': 0,
      '203.0.113.60': 1,
      '203.0.113.70': 0,
      [proxy]: (before ?? 0) + 2,
    });
    // The gateway's own per-client counters went by the same addresses.
    expect(Number(await gatewayRedis.get('rate:gateway-client:address:203.0.113.50'))).toBe(1);
    expect(await gatewayRedis.get('rate:gateway-client:address:198.51.100.7')).toBeNull();
  });

  it('refuses login with SERVICE_UNAVAILABLE through the gateway while Redis is down, and serves everything else', async () => {
    const account = await registerUser(supergraph.gateway.url);
    await redis.stop();
    const login = await postGraphQL(supergraph.gateway.url, LOGIN, {
      email: account.user.email,
      password: account.password,
    });
    expect({ codes: codes(login), data: login.data ?? null }).toEqual({
      codes: ['SERVICE_UNAVAILABLE'],
      data: null,
    });
    expect(JSON.stringify(login)).not.toMatch(/redis|ECONNREFUSED|127\.0\.0\.1/i);
    // Not guarded by a limiter, and the gateway's own limit does not count while its Redis is away.
    const me = await postGraphQL(supergraph.gateway.url, '{ me { id } }', {}, account.accessToken);
    expect(me).toEqual({ status: 200, data: { me: { id: account.user.id } } });
    await redis.start();
    await waitFor(
      'sign-in to work again',
      async () =>
        (
          await postGraphQL(supergraph.gateway.url, LOGIN, {
            email: account.user.email,
            password: account.password,
          })
        ).errors === undefined,
      { timeoutMs: 15_000, intervalMs: 250 },
    );
  });
});
