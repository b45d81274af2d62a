import { randomUUID } from 'node:crypto';
import { BroadcastFeed, createEvent, replayHeaders, SubscriberOverflowError } from '@shop/events';
import { createTestKafka, type TestKafka, waitFor } from '@shop/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const statusChanged = (orderId: string, to: string) =>
  createEvent(
    'order.status-changed',
    { orderId, userId: randomUUID(), from: 'PENDING', to },
    { source: 'orders' },
  );

/** The next `count` values, or fails after a timeout (a missing event must not hang the test). */
async function take<T>(iterator: AsyncIterator<T>, count: number, timeoutMs = 10_000): Promise<T[]> {
  const values: T[] = [];
  const deadline = Date.now() + timeoutMs;
  while (values.length < count) {
    const result = await Promise.race([
      iterator.next(),
      new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error(`only ${values.length} of ${count} events`)),
          deadline - Date.now(),
        ),
      ),
    ]);
    if (result.done) throw new Error(`iterator ended after ${values.length} of ${count} events`);
    values.push(result.value);
  }
  return values;
}

describe('BroadcastFeed', () => {
  let kafka: TestKafka;
  const feeds: BroadcastFeed<'order.status-changed' | 'order.shipped'>[] = [];

  beforeAll(async () => {
    kafka = await createTestKafka();
  });
  afterEach(async () => {
    await Promise.all(feeds.splice(0).map((feed) => feed.stop()));
  });
  afterAll(async () => {
    await kafka.cleanup();
  });

  async function feed(instanceId?: string, bufferSize?: number) {
    const f = new BroadcastFeed(kafka.connection, {
      name: 'orders',
      topics: ['order.status-changed', 'order.shipped'],
      ...(instanceId ? { instanceId } : {}),
      ...(bufferSize ? { bufferSize } : {}),
    });
    feeds.push(f);
    await f.start();
    return f;
  }

  async function publish(messages: { key: string; value: string; headers?: Record<string, string> }[]) {
    const producer = await kafka.connection.producer();
    await producer.send({ topic: kafka.connection.topic('order.status-changed'), messages });
  }

  it('gives every instance every event, each subscriber the ones its filter accepts', async () => {
    const [a, b] = await Promise.all([feed('instance-a'), feed('instance-b')]);
    const orderId = randomUUID();
    const mine = (f: typeof a) => f.subscribe((e) => e.data.orderId === orderId);
    const subscribers = [mine(a), mine(a), mine(b), mine(b)];
    const other = a.subscribe((e) => e.data.orderId === 'someone else');

    const paid = statusChanged(orderId, 'PAID');
    const unrelated = statusChanged(randomUUID(), 'PAID');
    const shippedToo = statusChanged(orderId, 'SHIPPED');
    await publish(
      [paid, unrelated, shippedToo].map((e) => ({ key: e.data.orderId, value: JSON.stringify(e) })),
    );

    for (const subscriber of subscribers) {
      expect((await take(subscriber, 2)).map((e) => e.id)).toEqual([paid.id, shippedToo.id]);
    }
    await other.return?.();
    expect(a.subscriberCount).toBe(2);
  });

  it('ends a subscription on return() and every subscription when the feed stops', async () => {
    const f = await feed();
    const orderId = randomUUID();
    const leaving = f.subscribe((e) => e.data.orderId === orderId);
    const staying = f.subscribe((e) => e.data.orderId === orderId);
    const pending = staying.next();
    expect(f.subscriberCount).toBe(2);

    expect(await leaving.return?.()).toEqual({ value: undefined, done: true });
    expect(await leaving.next()).toEqual({ value: undefined, done: true });
    expect(f.subscriberCount).toBe(1);

    // What a GraphQL subscription does with it: for-await until the source ends.
    const seen: string[] = [];
    const loop = (async () => {
      for await (const event of f.subscribe((e) => e.data.orderId === orderId)) seen.push(event.id);
    })();
    const event = statusChanged(orderId, 'PAID');
    await publish([{ key: orderId, value: JSON.stringify(event) }]);
    expect((await pending).value?.id).toBe(event.id);
    await waitFor('the loop to see it', () => seen.length === 1);

    await f.stop();
    await loop; // ended, not hanging
    expect(await staying.next()).toEqual({ value: undefined, done: true });
    expect(f.subscriberCount).toBe(0);
    expect(await f.subscribe().next()).toEqual({ value: undefined, done: true });
    await expect(f.start()).rejects.toThrow(/stopped/);
  });

  it('skips bad messages and replays from dead-letter topics, and reports ready', async () => {
    const f = await feed();
    await f.readiness();
    const orderId = randomUUID();
    const subscriber = f.subscribe((e) => e.data.orderId === orderId);
    const replayed = statusChanged(orderId, 'OLD NEWS');
    const good = statusChanged(orderId, 'PAID');

    await publish([
      { key: orderId, value: 'not json' },
      { key: orderId, value: JSON.stringify({ ...good, data: { orderId } }) },
      { key: orderId, value: JSON.stringify(replayed), headers: { [replayHeaders.replayedFor]: 'mailer' } },
      { key: orderId, value: JSON.stringify(good) },
    ]);

    expect((await take(subscriber, 1)).map((e) => e.id)).toEqual([good.id]);
  });

  it('ends a subscriber that falls too far behind with an error, after what it had', async () => {
    const f = await feed(undefined, 2);
    const orderId = randomUUID();
    const slow = f.subscribe((e) => e.data.orderId === orderId);
    const events = ['A', 'B', 'C'].map((to) => statusChanged(orderId, to));
    await publish(events.map((e) => ({ key: orderId, value: JSON.stringify(e) })));
    await waitFor('the overflow', () => f.subscriberCount === 0);

    expect((await take(slow, 2)).map((e) => e.id)).toEqual(events.slice(0, 2).map((e) => e.id));
    await expect(slow.next()).rejects.toBeInstanceOf(SubscriberOverflowError);
    expect(await slow.next()).toEqual({ value: undefined, done: true });
  });

  it('deletes its per-instance consumer group when it stops', async () => {
    const instanceId = randomUUID();
    const f = await feed(instanceId);
    const groupId = kafka.connection.topic(`feed.orders.${instanceId}`);
    const admin = kafka.connection.kafka.admin();
    await admin.connect();
    try {
      expect((await admin.listGroups()).groups.map((g) => g.groupId)).toContain(groupId);
      await f.stop();
      expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain(groupId);
    } finally {
      await admin.disconnect();
    }
  });
});
