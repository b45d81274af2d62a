import { gql } from 'graphql-tag';
import { createClient } from 'graphql-ws';
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  createLogger,
  forbidden,
  type RequestContext,
  type RunningSubgraph,
  requireAdmin,
  requireViewer,
  startSubgraphServer,
  TokenIssuer,
  TokenVerifier,
} from '../src';

const settings = { issuer: 'test', audience: 'test' };

const typeDefs = gql`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query {
    whoami: String
    adminOnly: String
    explode: String
    guarded: String
  }
  type Subscription {
    countdown(from: Int!): Int!
    heartbeat: Int!
  }
`;

describe('subgraph server', () => {
  let server: RunningSubgraph;
  let customerToken: string;
  let adminToken: string;
  let foreignToken: string;
  let shortLivedIssuer: TokenIssuer;
  let ready = true;

  beforeAll(async () => {
    const keys = await generateKeyPair('EdDSA', { extractable: true });
    const foreign = await generateKeyPair('EdDSA', { extractable: true });
    const ttl = { ...settings, accessTokenTtlSeconds: 60 };
    const issuer = await TokenIssuer.fromPem(await exportPKCS8(keys.privateKey), ttl);
    customerToken = await issuer.issueAccessToken({ userId: 'u1', role: 'CUSTOMER', email: 'c@example.com' });
    adminToken = await issuer.issueAccessToken({ userId: 'u2', role: 'ADMIN', email: 'a@example.com' });
    shortLivedIssuer = await TokenIssuer.fromPem(await exportPKCS8(keys.privateKey), {
      ...settings,
      accessTokenTtlSeconds: 2,
    });
    foreignToken = await (
      await TokenIssuer.fromPem(await exportPKCS8(foreign.privateKey), ttl)
    ).issueAccessToken({
      userId: 'u3',
      role: 'ADMIN',
      email: 'x@example.com',
    });
    server = await startSubgraphServer<RequestContext>({
      name: 'test',
      port: 0,
      host: '127.0.0.1',
      typeDefs,
      logger: createLogger('test', 'silent'),
      tokenVerifier: await TokenVerifier.fromPem(await exportSPKI(keys.publicKey), settings),
      readiness: {
        database: async () => {
          if (!ready) throw new Error('database is down');
        },
      },
      resolvers: {
        Query: {
          whoami: (_: unknown, __: unknown, ctx: RequestContext) => ctx.viewer?.email ?? null,
          adminOnly: (_: unknown, __: unknown, ctx: RequestContext) => requireAdmin(ctx.viewer).email,
          explode: () => {
            throw new Error('secret connection string leaked');
          },
          guarded: () => {
            throw forbidden('Not yours');
          },
        },
        Subscription: {
          countdown: {
            subscribe: async function* (_: unknown, args: { from: number }, ctx: RequestContext) {
              requireViewer(ctx.viewer);
              for (let i = args.from; i >= 0; i--) yield { countdown: i };
            },
          },
          heartbeat: {
            subscribe: async function* () {
              yield { heartbeat: 1 };
              await new Promise((resolve) => setTimeout(resolve, 60_000));
            },
          },
        },
      },
    });
  });

  afterAll(async () => {
    await server.stop();
  });

  async function post(query: string, token?: string) {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query }),
    });
    return {
      status: response.status,
      body: (await response.json()) as {
        data?: Record<string, unknown>;
        errors?: { message: string; extensions?: { code?: string } }[];
      },
    };
  }

  it('answers health probes and reports a failing dependency', async () => {
    expect((await fetch(new URL('/health/live', server.url))).status).toBe(200);
    expect((await fetch(new URL('/health/ready', server.url))).status).toBe(200);
    ready = false;
    const notReady = await fetch(new URL('/health/ready', server.url));
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ checks: { database: 'database is down' } });
    ready = true;
  });

  it('verifies the caller itself', async () => {
    expect((await post('{ whoami }')).body.data).toEqual({ whoami: null });
    expect((await post('{ whoami }', customerToken)).body.data).toEqual({ whoami: 'c@example.com' });
    const forged = await post('{ whoami }', foreignToken);
    expect(forged.status).toBe(401);
    expect(forged.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('maps coded errors and masks unexpected ones', async () => {
    expect((await post('{ adminOnly }', customerToken)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await post('{ adminOnly }', adminToken)).body.data).toEqual({ adminOnly: 'a@example.com' });
    expect((await post('{ adminOnly }')).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await post('{ guarded }', customerToken)).body.errors?.[0]).toMatchObject({
      message: 'Not yours',
      extensions: { code: 'FORBIDDEN' },
    });
    const boom = (await post('{ explode }')).body.errors?.[0];
    expect(boom?.message).toBe('Internal server error');
    expect(boom?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(JSON.stringify(boom)).not.toContain('secret');
  });

  it('serves the federation SDL', async () => {
    const { body } = await post('{ _service { sdl } }');
    expect(body.data).toMatchObject({ _service: { sdl: expect.stringContaining('countdown') } });
  });

  function subscribe(token: string | undefined) {
    const client = createClient({
      url: server.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    });
    const values: unknown[] = [];
    const done = new Promise<void>((resolve, reject) => {
      client.subscribe(
        { query: 'subscription { countdown(from: 2) }' },
        { next: (value) => values.push(value), error: reject, complete: resolve },
      );
    });
    return { values, done, client };
  }

  it('streams subscriptions over graphql-ws with the token in connectionParams', async () => {
    const { values, done, client } = subscribe(customerToken);
    await done;
    expect(values).toEqual([
      { data: { countdown: 2 } },
      { data: { countdown: 1 } },
      { data: { countdown: 0 } },
    ]);
    await client.dispose();
  });

  it('refuses a websocket with a forged token and codes errors for anonymous subscribers', async () => {
    const forged = subscribe(foreignToken);
    await expect(forged.done).rejects.toMatchObject({ code: 4403 });
    await forged.client.dispose();

    const anonymous = subscribe(undefined);
    await expect(anonymous.done).rejects.toEqual([
      expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED' } }),
    ]);
    await anonymous.client.dispose();
  });

  it('closes the socket of a subscriber when its token expires (4401), so it must reconnect with a fresh one', async () => {
    // Issued here, not with the others: on a busy machine the earlier tests can outlast its 2 s.
    const shortLivedToken = await shortLivedIssuer.issueAccessToken({
      userId: 'u4',
      role: 'CUSTOMER',
      email: 's@example.com',
    });
    let closeCode: number | undefined;
    const client = createClient({
      url: server.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${shortLivedToken}` },
      on: {
        closed: (event) => {
          closeCode = (event as { code: number }).code;
        },
      },
    });
    const values: unknown[] = [];
    const ended = new Promise<unknown>((resolve) => {
      client.subscribe(
        { query: 'subscription { heartbeat }' },
        { next: (value) => values.push(value), error: resolve, complete: () => resolve('complete') },
      );
    });
    await ended;
    expect(values).toEqual([{ data: { heartbeat: 1 } }]);
    expect(closeCode).toBe(4401);
    await client.dispose();
  });
});
