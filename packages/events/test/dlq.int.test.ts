import { randomUUID } from 'node:crypto';
import {
  createEvent,
  deadLetterHeaders,
  EventConsumer,
  listDeadLetters,
  replayDeadLetters,
  replayHeaders,
} from '@shop/events';
import { createTestKafka, type TestKafka, waitFor } from '@shop/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const shipped = () =>
  createEvent('order.shipped', { orderId: randomUUID(), userId: randomUUID() }, { source: 'orders' });

describe('dead letters: list and replay', () => {
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

  async function start(consumer: EventConsumer): Promise<EventConsumer> {
    running.push(consumer);
    await consumer.start();
    return consumer;
  }

  async function send(messages: { key: string; value: string; headers?: Record<string, string> }[]) {
    const producer = await kafka.connection.producer();
    await producer.send({ topic: kafka.connection.topic('order.shipped'), messages });
  }

  it('finds nothing for a group that never dead-lettered, and creates no topic for it', async () => {
    const groupId = `never-failed-${randomUUID().slice(0, 8)}`;
    expect(await listDeadLetters(kafka.connection, groupId)).toEqual([]);
    expect(await replayDeadLetters(kafka.connection, groupId)).toEqual({ replayed: 0, skipped: 0 });
    const admin = kafka.connection.kafka.admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).not.toContain(kafka.connection.topic(`dlq.${groupId}`));
    } finally {
      await admin.disconnect();
    }
  });

  it('lists every dead letter with where and why it failed', async () => {
    const groupId = `lister-${randomUUID().slice(0, 8)}`;
    const failing = shipped();
    const c = await start(
      new EventConsumer(kafka.connection, {
        groupId,
        handlers: {
          'order.shipped': async (event) => {
            if (event.id === failing.id) throw new Error('mail server said no');
          },
        },
        retry: { attempts: 2, initialDelayMs: 10, maxDelayMs: 20 },
      }),
    );
    const before = new Date().toISOString();
    await send([
      { key: 'k', value: JSON.stringify(failing) },
      { key: 'k', value: 'not json at all' },
    ]);
    const dlq = await kafka.readTopic(c.deadLetterTopic);
    await waitFor('two dead letters', () => dlq.messages.length === 2);

    const letters = await listDeadLetters(kafka.connection, groupId);

    expect(letters).toHaveLength(2);
    const [first, second] = letters;
    expect(first).toMatchObject({
      originalTopic: kafka.connection.topic('order.shipped'),
      eventId: failing.id,
      eventType: 'order.shipped',
      error: 'mail server said no',
      attempts: 2,
      replayed: false,
    });
    expect(first?.failedAt && first.failedAt >= before).toBe(true);
    expect(second).toMatchObject({
      eventId: undefined,
      error: 'message value is not JSON',
      attempts: 1,
      replayed: false,
    });
    expect(BigInt(second?.offset ?? 0)).toBeGreaterThan(BigInt(first?.offset ?? 0));
    // Listing changes nothing: a replay afterwards still finds both.
    expect((await listDeadLetters(kafka.connection, groupId)).map((l) => l.replayed)).toEqual([false, false]);
  });

  it('replays each dead letter once, to its group only, once the cause is fixed', async () => {
    const groupId = `replayer-${randomUUID().slice(0, 8)}`;
    const poisoned = shipped();
    let broken = true;
    const calls: string[] = [];
    const handled: string[] = [];
    const consumer = await start(
      new EventConsumer(kafka.connection, {
        groupId,
        handlers: {
          'order.shipped': async (event) => {
            if (event.id !== poisoned.id) return;
            calls.push(event.id);
            if (broken) throw new Error('template missing');
            handled.push(event.id);
          },
        },
        retry: { attempts: 2, initialDelayMs: 10, maxDelayMs: 20 },
      }),
    );
    const bystanderSaw: string[] = [];
    await start(
      new EventConsumer(kafka.connection, {
        groupId: `bystander-${randomUUID().slice(0, 8)}`,
        handlers: { 'order.shipped': async (event) => void bystanderSaw.push(event.id) },
      }),
    );
    const topic = await kafka.readTopic(kafka.connection.topic('order.shipped'));
    const dlq = await kafka.readTopic(consumer.deadLetterTopic);
    await send([{ key: poisoned.data.orderId, value: JSON.stringify(poisoned), headers: { trace: 'abc' } }]);
    await waitFor('the dead letter', () => dlq.messages.length === 1);
    expect(calls).toEqual([poisoned.id, poisoned.id]);
    // A dead letter that did not come from a consumer: nothing to replay it to.
    const producer = await kafka.connection.producer();
    await producer.send({ topic: consumer.deadLetterTopic, messages: [{ value: 'dropped here by hand' }] });

    broken = false;
    expect(await replayDeadLetters(kafka.connection, groupId)).toEqual({ replayed: 1, skipped: 1 });

    await waitFor('the replayed event to be handled', () => handled.length === 1);
    expect(handled).toEqual([poisoned.id]);
    const replayed = await waitFor('the replay on the original topic', () =>
      topic.messages.find((m) => m.headers?.[replayHeaders.replayedFor] !== undefined),
    );
    expect(replayed.key?.toString()).toBe(poisoned.data.orderId);
    expect(replayed.value?.toString()).toBe(JSON.stringify(poisoned));
    const headerNames = Object.keys(replayed.headers ?? {}).sort();
    expect(headerNames).toEqual([replayHeaders.replayedFor, replayHeaders.replayedFrom, 'trace'].sort());
    expect(replayed.headers?.[replayHeaders.replayedFrom]?.toString()).toMatch(
      new RegExp(`^${consumer.deadLetterTopic.replaceAll('.', '\\.')}/\\d+/\\d+$`),
    );
    expect(Object.values(deadLetterHeaders).some((name) => name in (replayed.headers ?? {}))).toBe(false);

    // Once only: a second replay finds nothing new, and the listing says so.
    expect(await replayDeadLetters(kafka.connection, groupId)).toEqual({ replayed: 0, skipped: 0 });
    expect((await listDeadLetters(kafka.connection, groupId)).map((l) => l.replayed)).toEqual([true, true]);
    await new Promise((resolve) => setTimeout(resolve, 500)); // room for a stray second delivery
    expect(handled).toEqual([poisoned.id]);
    expect(bystanderSaw).toEqual([poisoned.id]); // the original, not the replay
  });
});
