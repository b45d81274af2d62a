import { type CryptoKey, errors, importPKCS8, importSPKI, jwtVerify, type KeyObject, SignJWT } from 'jose';
import { AppError, forbidden, unauthenticated } from './errors';

export type Role = 'CUSTOMER' | 'ADMIN';

/** Who is calling, as proven by a verified access token. */
export interface Viewer {
  userId: string;
  role: Role;
  email: string;
  /** The user's display name when the token carries one (for greetings in emails, not for decisions). */
  name?: string;
  /** When the token that proved this expires (set by TokenVerifier). */
  expiresAt?: Date;
}

// One algorithm, pinned: tokens with `alg: none`, HS256 or any other alg are refused by jose.
const ALGORITHM = 'EdDSA';

export interface TokenSettings {
  issuer: string;
  audience: string;
}

/**
 * How far a verifier's clock may trail the issuer's: a token whose `iat` lies further in the future was not
 * issued by a sane signer (a skewed clock, or a token minted ahead to outlive a key rotation) and is refused.
 */
export const MAX_CLOCK_SKEW_SECONDS = 30;

type Key = CryptoKey | KeyObject;

/** Verifies access tokens; every subgraph and the gateway hold only the public key. */
export class TokenVerifier {
  private constructor(
    private readonly key: Key,
    private readonly settings: TokenSettings,
  ) {}

  static async fromPem(publicKeyPem: string, settings: TokenSettings): Promise<TokenVerifier> {
    return new TokenVerifier(await importSPKI(publicKeyPem, ALGORITHM), settings);
  }

  async verify(token: string): Promise<Viewer> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: [ALGORITHM],
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        requiredClaims: ['sub', 'exp', 'iat', 'role', 'email'],
      });
      // jose checks that `iat` is a number but not that it is in the past.
      if (typeof payload.iat !== 'number' || payload.iat > Date.now() / 1000 + MAX_CLOCK_SKEW_SECONDS) {
        throw unauthenticated('Token is invalid');
      }
      const role = payload.role;
      if (role !== 'CUSTOMER' && role !== 'ADMIN') throw unauthenticated('Token has an unknown role');
      if (typeof payload.sub !== 'string' || typeof payload.email !== 'string') {
        throw unauthenticated('Token is malformed');
      }
      return {
        userId: payload.sub,
        role,
        email: payload.email,
        ...(typeof payload.name === 'string' ? { name: payload.name } : {}),
        ...(typeof payload.exp === 'number' ? { expiresAt: new Date(payload.exp * 1000) } : {}),
      };
    } catch (error) {
      if (error instanceof AppError) throw error;
      if (error instanceof errors.JWTExpired) throw unauthenticated('Token has expired');
      throw unauthenticated('Token is invalid');
    }
  }

  /** Reads `Authorization: Bearer <token>`; no header means an anonymous caller (undefined). */
  async fromAuthorizationHeader(header: string | undefined | null): Promise<Viewer | undefined> {
    if (!header) return undefined;
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) throw unauthenticated('Authorization header must be "Bearer <token>"');
    return this.verify(match[1]);
  }
}

/** Issues access tokens; only the users subgraph holds the private key. */
export class TokenIssuer {
  private constructor(
    private readonly key: Key,
    private readonly settings: TokenSettings & { accessTokenTtlSeconds: number },
  ) {}

  static async fromPem(
    privateKeyPem: string,
    settings: TokenSettings & { accessTokenTtlSeconds: number },
  ): Promise<TokenIssuer> {
    return new TokenIssuer(await importPKCS8(privateKeyPem, ALGORITHM), settings);
  }

  issueAccessToken(viewer: Omit<Viewer, 'expiresAt'>): Promise<string> {
    return new SignJWT({
      role: viewer.role,
      email: viewer.email,
      ...(viewer.name === undefined ? {} : { name: viewer.name }),
    })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setSubject(viewer.userId)
      .setIssuer(this.settings.issuer)
      .setAudience(this.settings.audience)
      .setIssuedAt()
      .setExpirationTime(`${this.settings.accessTokenTtlSeconds}s`)
      .sign(this.key);
  }
}

export function requireViewer(viewer: Viewer | undefined): Viewer {
  if (!viewer) throw unauthenticated();
  return viewer;
}

export function requireAdmin(viewer: Viewer | undefined): Viewer {
  const signedIn = requireViewer(viewer);
  if (signedIn.role !== 'ADMIN') throw forbidden('Only an admin may do this');
  return signedIn;
}

/** A user may act on their own resources; an admin on anyone's. */
export function requireOwnerOrAdmin(viewer: Viewer | undefined, ownerId: string): Viewer {
  const signedIn = requireViewer(viewer);
  if (signedIn.role !== 'ADMIN' && signedIn.userId !== ownerId) throw forbidden();
  return signedIn;
}

/**
 * Closes a websocket with 4401 ("reconnect with a fresh token") when the token that opened it expires, `leadMs`
 * early; returns the timer to clear when the socket closes first (nothing for a token without expiry).
 */
export function closeAtTokenExpiry(
  socket: { close(code: number, reason: string): void },
  viewer: Viewer | undefined,
  leadMs = 0,
): NodeJS.Timeout | undefined {
  if (!viewer?.expiresAt) return undefined;
  const remainingMs = Math.max(0, viewer.expiresAt.getTime() - Date.now() - leadMs);
  if (remainingMs >= 2 ** 31 - 1) return undefined; // beyond setTimeout's range: effectively never
  return setTimeout(() => socket.close(4401, 'Token expired'), remainingMs);
}
