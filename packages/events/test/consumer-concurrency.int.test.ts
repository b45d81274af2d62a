import { randomUUID } from 'node:crypto';
import { createEvent, EventConsumer, type EventConsumerOptions } from '@shop/events';
import { createTestKafka, type TestKafka, waitFor } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A group handles several partitions at once (partitionsConsumedConcurrently) while each partition, so each
// key, stays in order and every message is handled once. Each test reads its own topic from the beginning,
// so the first fetch returns every partition's messages together.

describe('EventConsumer partitions in parallel', () => {
  let kafka: TestKafka;
  const running: EventConsumer[] = [];

  beforeAll(async () => {
    kafka = await createTestKafka();
  });
  afterAll(async () => {
    await Promise.all(running.map((c) => c.stop()));
    await kafka.cleanup();
  });

  async function start(options: EventConsumerOptions): Promise<void> {
    const consumer = new EventConsumer(kafka.connection, { ...options, fromBeginning: true });
    running.push(consumer);
    await consumer.start();
  }

  it('handles messages of different partitions at the same time, and one at a time with 1', async () => {
    const [first, second] = [0, 1].map(() =>
      createEvent('order.shipped', { orderId: randomUUID(), userId: randomUUID() }, { source: 'orders' }),
    );
    if (!first || !second) throw new Error('two events');
    const producer = await kafka.connection.producer();
    await producer.send({
      topic: kafka.connection.topic('order.shipped'),
      messages: [first, second].map((event, partition) => ({
        key: event.data.orderId,
        partition,
        value: JSON.stringify(event),
      })),
    });

    /**
     * A rendezvous: each handler waits (up to `waitMs`) for the other message's handler to be in progress
     * too. Handled in parallel, both meet (at once; the long wait only absorbs a busy machine); one at a
     * time, neither does, however long the wait (the first waits in vain, the second starts after the first
     * ended).
     */
    const rendezvous = (concurrency: number, waitMs: number) => {
      const inProgress = new Set<string>();
      const met = new Map<string, boolean>();
      const options: EventConsumerOptions = {
        groupId: `parallel-${concurrency}-${randomUUID()}`,
        partitionsConsumedConcurrently: concurrency,
        handlers: {
          'order.shipped': async (event) => {
            const other = event.id === first.id ? second.id : first.id;
            inProgress.add(event.id);
            const giveUpAt = Date.now() + waitMs;
            while (!inProgress.has(other) && Date.now() < giveUpAt) {
              await new Promise((resolve) => setTimeout(resolve, 20));
            }
            met.set(event.id, inProgress.has(other));
            // Stay until the other has seen this one too.
            while (met.get(other) === undefined && inProgress.has(other) && Date.now() < giveUpAt + waitMs) {
              await new Promise((resolve) => setTimeout(resolve, 20));
            }
            inProgress.delete(event.id);
          },
        },
      };
      return { options, met };
    };
    const parallel = rendezvous(3, 15_000);
    const serial = rendezvous(1, 1_000);
    await Promise.all([start(parallel.options), start(serial.options)]);

    await waitFor(
      'both groups to handle both messages',
      () => parallel.met.size === 2 && serial.met.size === 2,
    );
    expect(Object.fromEntries(parallel.met)).toEqual({ [first.id]: true, [second.id]: true });
    expect(Object.fromEntries(serial.met)).toEqual({ [first.id]: false, [second.id]: false });
  });

  it('keeps each key in order and handles every message once while partitions overlap', async () => {
    const orderIds = Array.from({ length: 9 }, () => randomUUID());
    const events = Array.from({ length: 90 }, (_, i) =>
      createEvent(
        'order.cancelled',
        {
          orderId: orderIds[i % orderIds.length] as string,
          userId: randomUUID(),
          reason: 'CUSTOMER_REQUEST',
        },
        { source: 'orders' },
      ),
    );
    const producer = await kafka.connection.producer();
    // Three sends, each in publish order: what the outbox relay does for a growing outbox.
    for (let from = 0; from < events.length; from += 30) {
      await producer.send({
        topic: kafka.connection.topic('order.cancelled'),
        messages: events
          .slice(from, from + 30)
          .map((event) => ({ key: event.data.orderId, value: JSON.stringify(event) })),
      });
    }

    const handled: string[] = [];
    const byKey = new Map<string, string[]>();
    let inFlight = 0;
    let mostInFlight = 0;
    await start({
      groupId: `ordered-${randomUUID()}`,
      partitionsConsumedConcurrently: 3,
      handlers: {
        'order.cancelled': async (event) => {
          inFlight += 1;
          mostInFlight = Math.max(mostInFlight, inFlight);
          // Uneven handling times, so a partition that is not kept in order would show it.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 15));
          handled.push(event.id);
          byKey.set(event.data.orderId, [...(byKey.get(event.data.orderId) ?? []), event.id]);
          inFlight -= 1;
        },
      },
    });

    await waitFor('every message handled', () => handled.length >= events.length);
    expect(new Set(handled).size).toBe(events.length);
    expect(handled).toHaveLength(events.length);
    for (const orderId of orderIds) {
      expect(byKey.get(orderId)).toEqual(events.filter((e) => e.data.orderId === orderId).map((e) => e.id));
    }
    expect(mostInFlight).toBeGreaterThan(1);
  });
});
