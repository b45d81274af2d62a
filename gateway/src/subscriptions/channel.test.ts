import { describe, expect, it } from 'vitest';
import { BoundedChannel } from './channel';

describe('BoundedChannel', () => {
  it('delivers pushed items in order, then ends after the queued ones', async () => {
    let closed = 0;
    const channel = new BoundedChannel<number>(3, () => {
      closed += 1;
    });
    expect([channel.push(1), channel.push(2)]).toEqual(['ok', 'ok']);
    channel.end();
    expect(channel.push(3)).toBe('closed');
    expect(await channel.next()).toEqual({ value: 1, done: false });
    expect(await channel.next()).toEqual({ value: 2, done: false });
    expect(await channel.next()).toEqual({ value: undefined, done: true });
    expect(closed).toBe(1);
  });

  it('refuses an item past its capacity, and throws the end error after the queued items', async () => {
    const channel = new BoundedChannel<number>(1, () => {});
    expect([channel.push(1), channel.push(2)]).toEqual(['ok', 'full']);
    channel.end(new Error('overflow'));
    expect(await channel.next()).toEqual({ value: 1, done: false });
    await expect(channel.next()).rejects.toThrow('overflow');
  });

  it('returns at once while a reader waits, and closes once', async () => {
    let closed = 0;
    const channel = new BoundedChannel<number>(1, () => {
      closed += 1;
    });
    const waiting = channel.next();
    await channel.return();
    expect(await waiting).toEqual({ value: undefined, done: true });
    await channel.return();
    channel.end(new Error('late'));
    expect(closed).toBe(1);
    expect(channel.push(1)).toBe('closed');
  });

  it('hands an item straight to a waiting reader', async () => {
    const channel = new BoundedChannel<string>(1, () => {});
    const waiting = channel.next();
    expect(channel.push('a')).toBe('ok');
    expect(await waiting).toEqual({ value: 'a', done: false });
  });
});
