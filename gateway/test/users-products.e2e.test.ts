import { randomUUID } from 'node:crypto';
import {
  CreateProductDocument,
  LoginDocument,
  MeDocument,
  ProductsDocument,
  type ProductsQuery,
  RefreshTokenDocument,
  RegisterDocument,
  UpdateProductDocument,
} from '@shop/client';
import { createTestKeys, postGraphQL } from '@shop/testing';
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demo, startTestSupergraph, type TestSupergraph } from './supergraph';

const codes = (result: { errors?: readonly { extensions?: Record<string, unknown> }[] | undefined }) =>
  result.errors?.map((e) => e.extensions?.code);

describe('users and products through the gateway', () => {
  let supergraph: TestSupergraph;

  beforeAll(async () => {
    supergraph = await startTestSupergraph();
  });

  afterAll(async () => {
    await supergraph?.stop();
  });

  it('registers, logs in and answers me', async () => {
    const { client } = supergraph;
    const email = `new-${randomUUID().slice(0, 8)}@example.com`;
    const registered = await client.data(RegisterDocument, {
      input: { email, password: 'correct horse', name: 'New Customer' },
    });
    expect(registered.register.user).toMatchObject({ email, name: 'New Customer', role: 'CUSTOMER' });

    const { login } = await client.data(LoginDocument, {
      email: email.toUpperCase(),
      password: 'correct horse',
    });
    const { me } = await client.as(login.accessToken).data(MeDocument);
    expect(me).toEqual(registered.register.user);
  });

  it('answers me without a token with UNAUTHENTICATED', async () => {
    const result = await supergraph.client.request(MeDocument);
    expect(codes(result)).toEqual(['UNAUTHENTICATED']);
    expect(result.data?.me ?? null).toBeNull();
  });

  it('pages through the seeded catalogue', async () => {
    const { client } = supergraph;
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const { products }: ProductsQuery = await client.data(ProductsDocument, { first: 5, after });
      seen.push(...products.edges.map((edge) => edge.node.sku));
      for (const { node } of products.edges) expect(node.price.amount).toMatch(/^\d+\.\d{2}$/);
      if (!products.pageInfo.hasNextPage) break;
      after = products.pageInfo.endCursor;
    }
    expect(seen.length).toBeGreaterThanOrEqual(10);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('lets an admin create and update products, and refuses customers with FORBIDDEN', async () => {
    const { client } = supergraph;
    const admin = await client.data(LoginDocument, demo.admin);
    const customer = await client.data(LoginDocument, demo.customer);
    const input = { name: 'Espresso cup', sku: `CUP-${randomUUID().slice(0, 6)}`, price: '7.50' };

    const refused = await client.as(customer.login.accessToken).request(CreateProductDocument, { input });
    expect(codes(refused)).toEqual(['FORBIDDEN']);
    expect((await client.data(ProductsDocument, { search: input.sku })).products.totalCount).toBe(0);

    const { createProduct } = await client.as(admin.login.accessToken).data(CreateProductDocument, { input });
    expect(createProduct).toMatchObject({
      sku: input.sku.toUpperCase(),
      price: { amount: '7.50', currency: 'USD' },
    });
    const { updateProduct } = await client
      .as(admin.login.accessToken)
      .data(UpdateProductDocument, { id: createProduct.id, input: { price: '8' } });
    expect(updateProduct.price.amount).toBe('8.00');
  });

  it('rotates refresh tokens and revokes the family when a rotated token is used again', async () => {
    const { client } = supergraph;
    const { login } = await client.data(LoginDocument, demo.customer);
    const first = await client.data(RefreshTokenDocument, { refreshToken: login.refreshToken });
    const reuse = await client.request(RefreshTokenDocument, { refreshToken: login.refreshToken });
    expect(codes(reuse)).toEqual(['UNAUTHENTICATED']);
    const afterReuse = await client.request(RefreshTokenDocument, {
      refreshToken: first.refreshToken.refreshToken,
    });
    expect(codes(afterReuse)).toEqual(['UNAUTHENTICATED']);
  });

  it('answers browsers from other origins (Apollo Sandbox) with CORS headers', async () => {
    const preflight = await fetch(supergraph.gateway.url, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://studio.apollographql.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://studio.apollographql.com');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
  });

  describe('forged tokens', () => {
    const claims = { role: 'ADMIN', email: 'mallory@example.com' };
    const forge = async () => {
      const stranger = await createTestKeys();
      return stranger.tokenFor({ userId: randomUUID(), role: 'ADMIN', email: claims.email });
    };
    const unsigned = () =>
      new UnsecuredJWT(claims)
        .setSubject(randomUUID())
        .setIssuer('shop-supergraph/users')
        .setAudience('shop-supergraph')
        .setExpirationTime('1h')
        .encode();
    const hs256 = () =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(randomUUID())
        .setIssuer('shop-supergraph/users')
        .setAudience('shop-supergraph')
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(supergraph.keys.publicKeyPem));

    it.each([
      ['signed with another key', forge],
      ['with alg none', async () => unsigned()],
      ['HS256 keyed with the public key', hs256],
    ])('refuses a token %s at the gateway and at each subgraph directly', async (_, makeToken) => {
      const token = await makeToken();
      const me = '{ me { id role } }';
      const create =
        'mutation { createProduct(input: { name: "X", sku: "FORGED-1", price: "1.00" }) { id } }';
      for (const [url, query] of [
        [supergraph.gateway.url, me],
        [supergraph.subgraphs.users.url, me],
        [supergraph.subgraphs.products.url, create],
      ] as const) {
        const result = await postGraphQL(url, query, {}, token);
        expect(result.status).toBe(401);
        expect(codes(result)).toEqual(['UNAUTHENTICATED']);
      }
    });
  });
});
