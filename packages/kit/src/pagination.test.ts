import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError } from './errors';
import { encodeCursor, readPage } from './pagination';

const shape = z.tuple([z.string(), z.string()]);

describe('readPage', () => {
  it('reads back a cursor it gave out', () => {
    const after = encodeCursor(['2026-01-01T00:00:00.000Z', 'a']);
    expect(readPage({ first: 2, after }, shape)).toEqual({
      take: 2,
      after: ['2026-01-01T00:00:00.000Z', 'a'],
    });
  });

  it('refuses a cursor with characters outside base64url (Node would skip them and decode the rest)', () => {
    // Bad-input corpus cases "an RTL override" and "a zero-width space" in `after`: answered as the cursor before.
    const cursor = encodeCursor(['2026-01-01T00:00:00.000Z', 'a']);
    for (const after of [
      `\u202E${cursor}`,
      `${cursor}\u200B`,
      `${cursor}=`,
      `${cursor.slice(0, 4)} ${cursor.slice(4)}`,
    ]) {
      expect(() => readPage({ after }, shape)).toThrow(AppError);
    }
  });
});
