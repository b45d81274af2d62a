import { expect } from 'vitest';

/** What no response may carry, whatever the input: addresses, paths, stack frames, SQL, internals. */
export const leakPatterns: readonly RegExp[] = [
  /127\.0\.0\.1/,
  /localhost:/,
  /\/work\//,
  /\/tmp\//,
  /node_modules/,
  /file:\/\//,
  /https?:\/\//,
  // " at " as in a stack frame; graphql-js writes `at "input.price"` for the path of a refused value, and our
  // validation messages say "must be at most 200 characters".
  / at (?!\\?"|most |least )/,
  /Error:/,
  /stack/i,
  // SQL and Prisma, not the English word (graphql-js says "must not select an introspection field").
  /prisma/i,
  /\bSELECT\b[\s\S]*\bFROM\b/,
  /serviceName|"response"/,
];

/** Fails the test when a response body shows any of `leakPatterns`. */
export function expectNoLeak(text: string, where = 'answer'): void {
  for (const leak of leakPatterns) expect(text, `${where} matches ${leak}`).not.toMatch(leak);
}

const json = { 'content-type': 'application/json' };

/** A POST with this exact body (and JSON content type unless other headers are given). */
export const rawPost = (body: string, headers: Record<string, string> = json): RequestInit => ({
  method: 'POST',
  headers,
  body,
});

/**
 * HTTP requests a careless client sends before GraphQL is even reached, with the status and code every
 * service (gateway and subgraphs) must answer them with: [what, request, status, code].
 */
export const badRequestBodies: readonly [string, RequestInit, number, string][] = [
  ['malformed JSON', rawPost('{"query": "{ __typename }"'), 400, 'BAD_REQUEST'],
  ['a body that is just null', rawPost('null'), 400, 'BAD_REQUEST'],
  ['a body that is just a number', rawPost('123'), 400, 'BAD_REQUEST'],
  ['a body that is just a string', rawPost('"{ __typename }"'), 400, 'BAD_REQUEST'],
  [
    'a latin1 body',
    rawPost('{"query": "{ __typename }"}', { 'content-type': 'application/json; charset=latin1' }),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'a br-encoded body',
    rawPost('{"query": "{ __typename }"}', { ...json, 'content-encoding': 'br' }),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'an unknown content-encoding',
    rawPost('{"query": "{ __typename }"}', { ...json, 'content-encoding': 'x-unknown' }),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'a body over 1 MB',
    rawPost(JSON.stringify({ query: `{ __typename } # ${'x'.repeat(1024 * 1024)}` })),
    413,
    'PAYLOAD_TOO_LARGE',
  ],
];
