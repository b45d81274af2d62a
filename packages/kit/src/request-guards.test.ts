import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { findNul, nulRefusal } from './request-guards';

const query = parse('query($s: String) { __type(name: $s) { name } }');

describe('request guards', () => {
  it('finds a NUL in nested values and keys, with its path', () => {
    expect(findNul({ a: [1, { b: 'x\u0000' }] })).toEqual(['a', 1, 'b']);
    expect(findNul({ a: { 'k\u0000': 1 } })).toEqual(['a', 'k\u0000']);
    expect(findNul('\u0000')).toEqual([]);
    expect(findNul({ a: ['ok', { b: 'fine' }] })).toBeUndefined();
  });

  it('walks a variable nested 100,000 levels deep quickly, without overflowing the stack', () => {
    // The bad-input corpus's 100,000-deep JSON value was an INTERNAL_SERVER_ERROR (recursion), then quadratic.
    let deep: unknown = 'x\u0000';
    for (let level = 0; level < 100_000; level++) deep = [deep];
    const started = performance.now();
    expect(findNul({ deep })?.length).toBe(100_001);
    expect(nulRefusal(query, { deep: [[[[]]]] })).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('refuses a lone surrogate in a variable, and keeps whole surrogate pairs', () => {
    // Corpus cases "a lone surrogate": stored as U+FFFD, so the text saved was not the text sent.
    for (const text of ['corpus\uD800', '\uDC00corpus', 'a\uDBFF\uDBFFb']) {
      const refused = nulRefusal(query, { s: text });
      expect(refused?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', variable: 's' });
    }
    // In a literal, graphql-js refuses one itself while parsing (GRAPHQL_PARSE_FAILED).
    expect(nulRefusal(query, { s: 'cart \u{1F6D2} \u202Eok' })).toBeUndefined();
  });
});
