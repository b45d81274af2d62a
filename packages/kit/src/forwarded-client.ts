import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * The header in which the gateway tells a subgraph who its client is: `<address>;<unix seconds>;<signature>`,
 * signed with HMAC-SHA256 under GATEWAY_SECRET (held by the gateway and the subgraphs that read it). A
 * client cannot produce it, so a subgraph believes the address only with a valid signature; without one it
 * takes the TCP peer's address, and the caller is not the gateway.
 */
export const FORWARDED_CLIENT_HEADER = 'x-shop-forwarded-client';

/**
 * The GATEWAY_SECRET setting (the gateway and the subgraphs that read the header): the HMAC key, at least 32
 * characters. Empty means no gateway is believed: every caller counts as a direct client at its TCP address.
 */
export const gatewaySecretSetting = z
  .string()
  .default('')
  .refine((value) => value === '' || value.length >= 32, 'must be empty or at least 32 characters');

/** How old a signed header may be (clock drift between hosts plus a slow request). */
const MAX_AGE_SECONDS = 300;

/** Who is calling a subgraph, as far as it can tell. */
export interface ClientInfo {
  /** The client's IP address: forwarded by the gateway (signed), or the TCP peer's. */
  address: string;
  /** The request came through the gateway (its signature checked), not straight from a client. */
  viaGateway: boolean;
}

function signature(secret: string, address: string, issuedAt: number): string {
  return createHmac('sha256', secret).update(`v1\n${address}\n${issuedAt}`).digest('base64url');
}

/** The header value the gateway sends for a client at `address`. */
export function signForwardedClient(secret: string, address: string, now = Date.now()): string {
  const issuedAt = Math.floor(now / 1000);
  return `${address};${issuedAt};${signature(secret, address, issuedAt)}`;
}

/**
 * The client as a subgraph sees it: the signed address from the gateway when `secret` is set and the header
 * verifies, otherwise the TCP peer (`remoteAddress`) and not via the gateway. An unsigned or forged header is
 * ignored, never an error: the caller is simply treated as a direct client.
 */
export function readForwardedClient(
  secret: string | undefined,
  header: string | string[] | undefined,
  remoteAddress: string | undefined,
  now = Date.now(),
): ClientInfo {
  const direct: ClientInfo = { address: normaliseAddress(remoteAddress ?? 'unknown'), viaGateway: false };
  if (!secret || typeof header !== 'string' || header.length > 200) return direct;
  const [address, issuedAtText, signed, ...rest] = header.split(';');
  const issuedAt = Number(issuedAtText);
  if (!address || !signed || rest.length > 0 || !Number.isInteger(issuedAt)) return direct;
  if (Math.abs(now / 1000 - issuedAt) > MAX_AGE_SECONDS) return direct;
  const expected = Buffer.from(signature(secret, address, issuedAt));
  const given = Buffer.from(signed);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return direct;
  return { address: normaliseAddress(address), viaGateway: true };
}

/** `::ffff:127.0.0.1` and `127.0.0.1` are one client. */
export function normaliseAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}
