import { describe, expect, it } from 'vitest';
import {
  clientAddressOf,
  parseTrustedProxies,
  readForwardedClient,
  signForwardedClient,
  trustedProxiesSetting,
} from './forwarded-client';

const secret = 'a-test-secret-of-at-least-32-characters!';

describe('the gateway-signed client address', () => {
  it('is believed with a valid signature, and marks the request as coming through the gateway', () => {
    const header = signForwardedClient(secret, '203.0.113.7');
    expect(readForwardedClient(secret, header, '127.0.0.1')).toEqual({
      address: '203.0.113.7',
      viaGateway: true,
    });
  });

  it('falls back to the TCP peer for a missing, forged, altered, stale or unsigned header', () => {
    const now = Date.now();
    const valid = signForwardedClient(secret, '203.0.113.7', now);
    const [, issuedAt, signature] = valid.split(';');
    const direct = { address: '10.0.0.9', viaGateway: false };
    for (const header of [
      undefined,
      '203.0.113.7',
      `198.51.100.1;${issuedAt};${signature}`,
      signForwardedClient('another secret entirely, also long enough', '203.0.113.7', now),
      signForwardedClient(secret, '203.0.113.7', now - 10 * 60 * 1000),
      `${valid};extra`,
      ['a', 'b'],
    ]) {
      expect(readForwardedClient(secret, header, '::ffff:10.0.0.9', now)).toEqual(direct);
    }
    // Without a configured secret no header is believed.
    expect(readForwardedClient(undefined, valid, '10.0.0.9', now)).toEqual(direct);
  });
});

describe('the client address behind trusted proxies (X-Forwarded-For)', () => {
  const trusted = parseTrustedProxies('10.0.0.0/8, 192.168.1.10, fd00::/8');

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy (spoofing), and without TRUSTED_PROXIES', () => {
    expect(clientAddressOf('::ffff:203.0.113.9', '198.51.100.1', trusted)).toBe('203.0.113.9');
    expect(clientAddressOf('192.168.1.11', '198.51.100.1', trusted)).toBe('192.168.1.11');
    expect(clientAddressOf('10.1.2.3', '198.51.100.1', undefined)).toBe('10.1.2.3');
    expect(clientAddressOf('10.1.2.3', '198.51.100.1', parseTrustedProxies(''))).toBe('10.1.2.3');
  });

  it('from a trusted peer takes the right-most entry that is not a trusted proxy', () => {
    expect(clientAddressOf('10.0.0.2', '203.0.113.9', trusted)).toBe('203.0.113.9');
    // The client wrote the left entries itself: only what the trusted chain appended counts.
    expect(clientAddressOf('10.0.0.2', '1.1.1.1, 203.0.113.9, 192.168.1.10', trusted)).toBe('203.0.113.9');
    expect(clientAddressOf('::ffff:10.0.0.2', ['1.1.1.1, 203.0.113.9', '10.9.9.9'], trusted)).toBe(
      '203.0.113.9',
    );
    expect(clientAddressOf('fd00::1', ' 2001:db8::7 ', trusted)).toBe('2001:db8::7');
  });

  it('stops at the last proxy reached on an entry that is no address, or when every entry is a proxy', () => {
    expect(clientAddressOf('10.0.0.2', 'evil; drop table, 192.168.1.10', trusted)).toBe('192.168.1.10');
    expect(clientAddressOf('10.0.0.2', 'not-an-address', trusted)).toBe('10.0.0.2');
    expect(clientAddressOf('10.0.0.2', '', trusted)).toBe('10.0.0.2');
    expect(clientAddressOf('10.0.0.2', '10.0.0.3, 10.0.0.4', trusted)).toBe('10.0.0.3');
    expect(clientAddressOf('10.0.0.2', undefined, trusted)).toBe('10.0.0.2');
  });

  it('TRUSTED_PROXIES accepts addresses and CIDR ranges, refusing anything else', () => {
    expect(trustedProxiesSetting.parse('').check('127.0.0.1')).toBe(false);
    expect(trustedProxiesSetting.parse(' 127.0.0.1 ,::1').check('::1', 'ipv6')).toBe(true);
    for (const bad of ['localhost', '10.0.0.0/33', '10.0.0.0/8/1', '::1/129', '10.0.0.0/x', '10.0.0.0/']) {
      expect(() => parseTrustedProxies(bad)).toThrow(bad);
      expect(trustedProxiesSetting.safeParse(bad).success).toBe(false);
    }
  });
});
