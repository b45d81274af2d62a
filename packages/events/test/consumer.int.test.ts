import { randomUUID } from 'node:crypto';
import {
  createEvent,
  deadLetterHeaders,
  EventConsumer,
  type EventConsumerOptions,
  type EventEnvelope,
  replayHeaders,
} from '@shop/events';
import { createTestKafka, type TestKafka, waitFor } from '@shop/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const shipped = (orderId: string = randomUUID()) =>
  createEvent('order.shipped', { orderId, userId: randomUUID() }, { source: 'orders' });

describe('EventConsumer', () => {
  let kafka: TestKafka;
  const running: EventConsumer[] = [];

  beforeAll(async () => {
    kafka = await createTestKafka();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((c) => c.stop()));
  });
  afterAll(async () => {
    await kafka.cleanup();
  });

  async function publish(...events: EventEnvelope<'order.shipped'>[]): Promise<void> {
    const producer = await kafka.connection.producer();
    await producer.send({
      topic: kafka.connection.topic('order.shipped'),
      messages: events.map((event) => ({ key: event.data.orderId, value: JSON.stringify(event) })),
    });
  }

  /** A consumer of order.shipped recording the ids it handled (only those in `ours`). */
  async function consumer(
    groupId: string,
    handled: string[],
    options: Partial<EventConsumerOptions> = {},
  ): Promise<EventConsumer> {
    const c = new EventConsumer(kafka.connection, {
      groupId,
      handlers: { 'order.shipped': async (event) => void handled.push(event.id) },
      ...options,
    });
    running.push(c);
    await c.start();
    return c;
  }

  it('starts a new group at the messages published from its start on, unless told otherwise', async () => {
    const history = shipped();
    await publish(history);
    const fresh: string[] = [];
    const rebuilding: string[] = [];
    await consumer(`fresh-${randomUUID()}`, fresh);
    await consumer(`rebuild-${randomUUID()}`, rebuilding, { fromBeginning: true });

    const live = shipped();
    await publish(live);

    await waitFor(
      'both consumers to see the new event',
      () => fresh.includes(live.id) && rebuilding.includes(live.id),
    );
    expect(fresh).toEqual([live.id]);
    expect(rebuilding).toContain(history.id);
  });

  it('commits handled offsets together once per interval, and what it handled when it stops', async () => {
    const groupId = `commits-${randomUUID()}`;
    const handled: string[] = [];
    const first = await consumer(groupId, handled);
    const admin = kafka.connection.kafka.admin();
    await admin.connect();
    try {
      const committedCount = async () => {
        const [offsets] = await admin.fetchOffsets({
          groupId: kafka.connection.topic(groupId),
          topics: [kafka.connection.topic('order.shipped')],
        });
        const ends = await admin.fetchTopicOffsets(kafka.connection.topic('order.shipped'));
        return { offsets: offsets?.partitions ?? [], ends };
      };
      const events = Array.from({ length: 30 }, () => shipped());
      await publish(...events);
      await waitFor('every event handled', () => events.every((e) => handled.includes(e.id)));
      // Within about one interval (1 s) every partition's committed offset reaches its end.
      await waitFor('the offsets committed', async () => {
        const { offsets, ends } = await committedCount();
        return ends.every((end) => offsets.find((o) => o.partition === end.partition)?.offset === end.offset);
      });

      // Handled just before stop(): committed by stop(), so the group's next member does not get it again.
      const last = shipped();
      await publish(last);
      await waitFor('the last event handled', () => handled.includes(last.id));
      await first.stop();
      running.splice(running.indexOf(first), 1);
      const again: string[] = [];
      await consumer(groupId, again);
      const probe = shipped();
      await publish(probe);
      await waitFor('the probe handled by the next member', () => again.includes(probe.id));
      expect(again).toEqual([probe.id]);
    } finally {
      await admin.disconnect();
    }
  });

  it('keeps its start position across a restart before it handled anything', async () => {
    const groupId = `restarted-${randomUUID()}`;
    const first = await consumer(groupId, []);
    await first.stop();
    // Published while the group is down and has not committed a single handled message yet.
    const whileDown = shipped();
    await publish(whileDown);

    const handled: string[] = [];
    await consumer(groupId, handled);
    await waitFor('the event published while it was down', () => handled.includes(whileDown.id));
  });

  it('retries a failing handler briefly, then dead-letters it and moves on to the next message', async () => {
    const failing = shipped();
    const next = shipped(failing.data.orderId); // same key, same partition: it waits behind the failing one
    const attempts: number[] = [];
    const handled: string[] = [];
    const c = new EventConsumer(kafka.connection, {
      groupId: `bounded-${randomUUID()}`,
      handlers: {
        'order.shipped': async (event) => {
          if (event.id === failing.id) {
            attempts.push(Date.now());
            throw new Error('downstream keeps failing');
          }
          handled.push(event.id);
        },
      },
    });
    running.push(c);
    await c.start();
    const dlq = await kafka.readTopic(c.deadLetterTopic);

    await publish(failing, next);

    await waitFor('the next message', () => handled.includes(next.id));
    await waitFor('the dead letter', () => dlq.messages.length === 1);
    // The default policy: 3 tries in all, well under 2 s of holding the partition.
    expect(attempts).toHaveLength(3);
    expect((attempts[2] ?? 0) - (attempts[0] ?? 0)).toBeLessThan(2_000);
    const [letter] = dlq.messages;
    expect(letter?.headers?.[deadLetterHeaders.attempts]?.toString()).toBe('3');
    expect(letter?.headers?.[deadLetterHeaders.consumerGroup]?.toString()).toBe(c.groupId);
    expect(letter?.value?.toString()).toBe(JSON.stringify(failing));
  });

  it('skips a replay meant for another group', async () => {
    const handled: string[] = [];
    await consumer(`bystander-${randomUUID()}`, handled);
    const replayedForOther = shipped();
    const ordinary = shipped(replayedForOther.data.orderId);
    const producer = await kafka.connection.producer();
    await producer.send({
      topic: kafka.connection.topic('order.shipped'),
      messages: [
        {
          key: replayedForOther.data.orderId,
          value: JSON.stringify(replayedForOther),
          headers: { [replayHeaders.replayedFor]: 'someone-else' },
        },
        { key: ordinary.data.orderId, value: JSON.stringify(ordinary) },
      ],
    });

    await waitFor('the ordinary event', () => handled.includes(ordinary.id));
    expect(handled).toEqual([ordinary.id]);
  });
});
