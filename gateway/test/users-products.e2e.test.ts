import { randomUUID } from 'node:crypto';
import {
  ChangePasswordDocument,
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

  it('lets a client branch on the changePassword result type (a union, not an error)', async () => {
    const { client } = supergraph;
    const email = `change-${randomUUID().slice(0, 8)}@example.com`;
    const { register } = await client.data(RegisterDocument, {
      input: { email, password: 'first password', name: 'Changer' },
    });
    const me = client.as(register.accessToken);
    const wrong = await me.data(ChangePasswordDocument, {
      currentPassword: 'not it',
      newPassword: 'second password',
    });
    expect(wrong.changePassword).toEqual({
      __typename: 'WrongCurrentPassword',
      message: 'The current password is not correct',
    });
    const changed = await me.data(ChangePasswordDocument, {
      currentPassword: 'first password',
      newPassword: 'second password',
    });
    expect(changed.changePassword.__typename).toBe('PasswordChanged');
    await client.data(LoginDocument, { email, password: 'second password' });
  });

  it('answers me without a token with UNAUTHENTICATED', async () => {
    const result = await supergraph.client.request(MeDocument);
    expect(codes(result)).toEqual(['UNAUTHENTICATED']);
    expect(result.data?.me ?? null).toBeNull();
  });

  it('pages through the seeded catalogue: every page agrees with totalCount and the order holds', async () => {
    const { client } = supergraph;
    const whole = await client.data(ProductsDocument, { first: 100 });
    const expected = whole.products.edges.map((edge) => edge.node.sku);
    expect(expected.length).toBe(whole.products.totalCount);
    expect(expected.length).toBeGreaterThanOrEqual(10);

    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; ; page++) {
      const { products }: ProductsQuery = await client.data(ProductsDocument, { first: 5, after });
      expect(products.totalCount).toBe(whole.products.totalCount);
      expect(products.edges.length).toBe(Math.min(5, expected.length - page * 5));
      expect(products.pageInfo.hasPreviousPage).toBe(after !== null);
      expect(products.pageInfo.startCursor).toBe(products.edges[0]?.cursor ?? null);
      expect(products.pageInfo.endCursor).toBe(products.edges.at(-1)?.cursor ?? null);
      seen.push(...products.edges.map((edge) => edge.node.sku));
      for (const { node } of products.edges) expect(node.price.amount).toMatch(/^\d+\.\d{2}$/);
      if (!products.pageInfo.hasNextPage) break;
      after = products.pageInfo.endCursor;
    }
    // The same products in the same order (newest first) as one big page: none skipped, none twice.
    expect(seen).toEqual(expected);
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
    // The successor works (and is itself rotated) before anyone replays the old token...
    const second = await client.data(RefreshTokenDocument, { refreshToken: first.refreshToken.refreshToken });
    const { me } = await client.as(second.refreshToken.accessToken).data(MeDocument);
    expect(me?.email).toBe(demo.customer.email);
    // ...then the replay of the first token is refused and ends the family: the newest token dies too.
    const reuse = await client.request(RefreshTokenDocument, { refreshToken: login.refreshToken });
    expect(codes(reuse)).toEqual(['UNAUTHENTICATED']);
    const afterReuse = await client.request(RefreshTokenDocument, {
      refreshToken: second.refreshToken.refreshToken,
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
      const create =
        'mutation { createProduct(input: { name: "X", sku: "FORGED-1", price: "1.00" }) { id } }';
      const targets = [
        supergraph.gateway.url,
        ...Object.values(supergraph.subgraphs).map((subgraph) => subgraph.url),
      ];
      for (const url of targets) {
        for (const query of ['{ __typename }', '{ me { id role } }', create]) {
          // Subgraphs refuse the token before looking at the operation (even one they cannot run).
          if (url !== supergraph.gateway.url && query !== '{ __typename }') continue;
          const result = await postGraphQL(url, query, {}, token);
          expect(result.status).toBe(401);
          expect(codes(result)).toEqual(['UNAUTHENTICATED']);
        }
      }
    });
  });
});
