import { describe, expect, it } from 'vitest';
import { RecentIds } from './feed';

describe('RecentIds', () => {
  it('refuses an id it holds, and forgets the oldest past its capacity', () => {
    const recent = new RecentIds(3);
    expect(['a', 'b', 'c'].map((id) => recent.add(id))).toEqual([true, true, true]);
    expect(recent.add('b')).toBe(false);
    expect(recent.add('d')).toBe(true); // a forgotten
    expect(recent.add('a')).toBe(true); // b forgotten
    expect(recent.add('c')).toBe(false);
    expect(recent.add('b')).toBe(true);
  });
});
