import type { TokenVerifier, Viewer } from '@shop/kit';

/**
 * Verified bearer tokens remembered until they expire, keyed by the whole Authorization header: an EdDSA
 * signature check (WebCrypto) was the largest single cost of an authenticated request in the gateway's profile.
 * Only successes are remembered, and never past the token's own `exp`: a refused token is checked afresh every
 * time (its reason — expired, bad signature, wrong audience — is the verifier's to give). The oldest entries
 * make room beyond `capacity`, so a flood of distinct tokens cannot grow memory.
 */
export class VerifiedTokenCache {
  private readonly verified = new Map<string, Viewer & { expiresAt: Date }>();

  constructor(
    private readonly verifier: Pick<TokenVerifier, 'fromAuthorizationHeader'>,
    private readonly capacity = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** As `TokenVerifier.fromAuthorizationHeader`: undefined for no header, the viewer, or a thrown refusal. */
  async fromAuthorizationHeader(header: string | undefined): Promise<Viewer | undefined> {
    if (!header) return undefined;
    const known = this.verified.get(header);
    if (known) {
      if (known.expiresAt.getTime() > this.now()) return known;
      this.verified.delete(header);
    }
    const viewer = await this.verifier.fromAuthorizationHeader(header);
    if (viewer?.expiresAt && viewer.expiresAt.getTime() > this.now()) {
      if (this.verified.size >= this.capacity) {
        const oldest = this.verified.keys().next().value;
        if (oldest !== undefined) this.verified.delete(oldest);
      }
      this.verified.set(header, viewer as Viewer & { expiresAt: Date });
    }
    return viewer;
  }

  get size(): number {
    return this.verified.size;
  }
}

/**
 * The verifier itself, answering `fromAuthorizationHeader` from a VerifiedTokenCache: handed to everything in the
 * gateway that checks the caller's token (the HTTP context, plugins, websocket connects), so one request's
 * token is verified once, and a token seen before not again until it expires. `verify` is the original's.
 */
export function withVerifiedTokenCache(verifier: TokenVerifier, capacity?: number): TokenVerifier {
  const cache = new VerifiedTokenCache(verifier, capacity);
  return Object.assign(Object.create(verifier) as TokenVerifier, {
    fromAuthorizationHeader: (header: string | undefined | null) =>
      cache.fromAuthorizationHeader(header ?? undefined),
  });
}
