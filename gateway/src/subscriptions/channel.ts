/**
 * A bounded queue read as an async generator: the producer pushes, graphql-ws pulls (one message sent at a time,
 * so a slow client or slow hydration makes it fill). Unlike an `async function*`, `return()` takes effect at once
 * even while a `next()` waits for an item, so an unsubscribe or a closed socket is never held up until the next
 * event arrives.
 */
export class BoundedChannel<T> implements AsyncGenerator<T, undefined, undefined> {
  private readonly items: T[] = [];
  private waiting:
    | { resolve: (result: IteratorResult<T, undefined>) => void; reject: (e: unknown) => void }
    | undefined;
  private ending: { error: unknown } | undefined;
  private closed = false;

  /** `onClose` runs exactly once, when the reader is done for any reason (drained end, error, return). */
  constructor(
    readonly capacity: number,
    private readonly onClose: () => void,
  ) {}

  get isClosed(): boolean {
    return this.closed || this.ending !== undefined;
  }

  /** 'full' leaves the item out: the caller applies the overflow policy. */
  push(item: T): 'ok' | 'full' | 'closed' {
    if (this.isClosed) return 'closed';
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve({ value: item, done: false });
      return 'ok';
    }
    if (this.items.length >= this.capacity) return 'full';
    this.items.push(item);
    return 'ok';
  }

  /** Ends after the queued items are read: done, or `error` thrown to the reader. */
  end(error?: unknown): void {
    if (this.isClosed) return;
    this.ending = { error };
    if (this.waiting && this.items.length === 0) this.finish();
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      if (this.ending) this.finish();
    });
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this.items.length = 0;
    this.ending = undefined;
    this.close();
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(): Promise<IteratorResult<T, undefined>> {
    return this.return();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private finish(): void {
    const error = this.ending?.error;
    const waiting = this.waiting;
    this.waiting = undefined;
    this.ending = undefined;
    this.close();
    if (error !== undefined) waiting?.reject(error);
    else waiting?.resolve({ value: undefined, done: true });
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }
}
