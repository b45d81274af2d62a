import { createHmac, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
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

/**
 * TRUSTED_PROXIES (the gateway): the addresses and CIDR ranges of the proxies in front of it, comma-separated
 * (`10.0.0.0/8, 192.168.1.10, fd00::/8`). Empty (the default) trusts none: X-Forwarded-For is never read.
 */
export const trustedProxiesSetting = z
  .string()
  .default('')
  .transform((value, ctx) => {
    try {
      return parseTrustedProxies(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });

/** The proxies a server believes, from a TRUSTED_PROXIES list; throws naming an entry that is no address or range. */
export function parseTrustedProxies(list: string): BlockList {
  const trusted = new BlockList();
  for (const entry of list
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const [address = '', prefixText, ...rest] = entry.split('/');
    const family = isIP(address);
    const prefix = prefixText === undefined ? undefined : Number(prefixText);
    const maxPrefix = family === 6 ? 128 : 32;
    if (
      family === 0 ||
      rest.length > 0 ||
      (prefix !== undefined && (!/^\d+$/.test(prefixText ?? '') || prefix > maxPrefix))
    ) {
      throw new Error(`"${entry}" is not an IP address or CIDR range`);
    }
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) trusted.addAddress(address, type);
    else trusted.addSubnet(address, prefix, type);
  }
  return trusted;
}

function isTrusted(trusted: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * The client's address as the gateway takes it: the TCP peer, unless that peer is a trusted proxy; then
 * X-Forwarded-For is read from the right (each proxy appends the address it was called from), skipping
 * trusted proxies, and the first address that is not one is the client. Entries left of it were written by
 * the client itself and are never believed. An entry that is not an IP address ends the walk at the last
 * proxy reached; so does an X-Forwarded-For made of trusted proxies only.
 */
export function clientAddressOf(
  socketAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trusted: BlockList | undefined,
): string {
  let address = normaliseAddress(socketAddress ?? 'unknown');
  if (!trusted || forwardedFor === undefined || !isTrusted(trusted, address)) return address;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
  for (let index = hops.length - 1; index >= 0; index--) {
    const hop = normaliseAddress(hops[index]?.trim() ?? '');
    if (isIP(hop) === 0) break;
    address = hop;
    if (!isTrusted(trusted, hop)) break;
  }
  return address;
}
