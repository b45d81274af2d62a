import { describe, expect, it } from 'vitest';
import { readForwardedClient, signForwardedClient } from './forwarded-client';

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
