import { exportPKCS8, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireAdmin, requireOwnerOrAdmin, TokenIssuer, TokenVerifier, type Viewer } from './auth';
import { AppError } from './errors';

const settings = { issuer: 'test-issuer', audience: 'test-audience' };
const viewer: Viewer = {
  userId: '6f1c0c6e-5e0c-4d7c-9d0e-1a2b3c4d5e6f',
  role: 'CUSTOMER',
  email: 'a@example.com',
};

async function keyPair() {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { extractable: true });
  return { publicPem: await exportSPKI(publicKey), privatePem: await exportPKCS8(privateKey), privateKey };
}

async function expectCode(promise: Promise<unknown>, code: string) {
  await expect(promise).rejects.toSatisfy((error) => error instanceof AppError && error.code === code);
}

describe('access tokens', () => {
  let issuer: TokenIssuer;
  let verifier: TokenVerifier;
  let other: Awaited<ReturnType<typeof keyPair>>;
  let keys: Awaited<ReturnType<typeof keyPair>>;

  beforeAll(async () => {
    keys = await keyPair();
    other = await keyPair();
    issuer = await TokenIssuer.fromPem(keys.privatePem, { ...settings, accessTokenTtlSeconds: 60 });
    verifier = await TokenVerifier.fromPem(keys.publicPem, settings);
  });

  it('round-trips the viewer, with the display name when there is one', async () => {
    const verified = await verifier.verify(await issuer.issueAccessToken(viewer));
    expect(verified).toMatchObject(viewer);
    expect(verified).not.toHaveProperty('name');
    expect(await verifier.verify(await issuer.issueAccessToken({ ...viewer, name: 'Ada' }))).toMatchObject({
      name: 'Ada',
    });
    const secondsLeft = ((verified.expiresAt?.getTime() ?? 0) - Date.now()) / 1000;
    expect(secondsLeft).toBeGreaterThan(50);
    expect(secondsLeft).toBeLessThanOrEqual(60);
  });

  it('rejects a token signed with another key', async () => {
    const forged = await (
      await TokenIssuer.fromPem(other.privatePem, { ...settings, accessTokenTtlSeconds: 60 })
    ).issueAccessToken({
      ...viewer,
      role: 'ADMIN',
    });
    await expectCode(verifier.verify(forged), 'UNAUTHENTICATED');
  });

  it('rejects alg "none"', async () => {
    const unsigned = new UnsecuredJWT({ role: 'ADMIN', email: viewer.email })
      .setSubject(viewer.userId)
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setExpirationTime('1h')
      .encode();
    await expectCode(verifier.verify(unsigned), 'UNAUTHENTICATED');
  });

  it('rejects HS256 keyed with the public key text of the verifier itself (algorithm confusion)', async () => {
    // The classic attack: the public key is public, so an attacker HMAC-signs with its PEM text and hopes the
    // verifier uses that same text as an HS256 secret.
    const publicPem = keys.publicPem;
    const confused = await new SignJWT({ role: 'ADMIN', email: viewer.email })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(viewer.userId)
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(publicPem));
    await expectCode(verifier.verify(confused), 'UNAUTHENTICATED');
  });

  it('rejects expired tokens, wrong audience and unknown roles', async () => {
    const { privateKey } = other;
    const otherVerifier = await TokenVerifier.fromPem(other.publicPem, settings);
    const sign = (claims: Record<string, unknown>, audience: string, exp: number | string) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'EdDSA' })
        .setSubject(viewer.userId)
        .setIssuer(settings.issuer)
        .setAudience(audience)
        .setExpirationTime(exp)
        .sign(privateKey);
    await expectCode(
      otherVerifier.verify(
        await sign({ role: 'CUSTOMER', email: 'x' }, settings.audience, Math.floor(Date.now() / 1000) - 10),
      ),
      'UNAUTHENTICATED',
    );
    await expectCode(
      otherVerifier.verify(await sign({ role: 'CUSTOMER', email: 'x' }, 'elsewhere', '1h')),
      'UNAUTHENTICATED',
    );
    await expectCode(
      otherVerifier.verify(await sign({ role: 'ROOT', email: 'x' }, settings.audience, '1h')),
      'UNAUTHENTICATED',
    );
  });

  it('rejects a token issued in the future beyond the clock skew, and accepts one within it', async () => {
    const now = Math.floor(Date.now() / 1000);
    const signIssuedAt = (iat: number) =>
      new SignJWT({ role: 'ADMIN', email: viewer.email })
        .setProtectedHeader({ alg: 'EdDSA' })
        .setSubject(viewer.userId)
        .setIssuer(settings.issuer)
        .setAudience(settings.audience)
        .setIssuedAt(iat)
        .setExpirationTime(iat + 3600)
        .sign(keys.privateKey);
    await expectCode(verifier.verify(await signIssuedAt(now + 3600)), 'UNAUTHENTICATED');
    await expectCode(verifier.verify(await signIssuedAt(now + 31 + 5)), 'UNAUTHENTICATED');
    await expect(verifier.verify(await signIssuedAt(now + 10))).resolves.toMatchObject({ role: 'ADMIN' });
    await expect(verifier.verify(await signIssuedAt(now - 60))).resolves.toMatchObject({ role: 'ADMIN' });
  });

  it('rejects a token without iat (every token we issue has one)', async () => {
    const noIssuedAt = await new SignJWT({ role: 'CUSTOMER', email: viewer.email })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setSubject(viewer.userId)
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setExpirationTime('1h')
      .sign(keys.privateKey);
    await expectCode(verifier.verify(noIssuedAt), 'UNAUTHENTICATED');
  });

  it('reads only well-formed bearer headers', async () => {
    expect(await verifier.fromAuthorizationHeader(undefined)).toBeUndefined();
    await expectCode(verifier.fromAuthorizationHeader('Basic abc'), 'UNAUTHENTICATED');
  });
});

describe('authorisation helpers', () => {
  it('separates anonymous, customers and admins', () => {
    expect(() => requireAdmin(undefined)).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));
    expect(() => requireAdmin(viewer)).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
    expect(requireAdmin({ ...viewer, role: 'ADMIN' }).role).toBe('ADMIN');
    expect(requireOwnerOrAdmin(viewer, viewer.userId)).toBe(viewer);
    expect(() => requireOwnerOrAdmin(viewer, 'someone-else')).toThrow(
      expect.objectContaining({ code: 'FORBIDDEN' }),
    );
  });
});
