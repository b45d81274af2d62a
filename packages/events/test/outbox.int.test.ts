import { randomUUID } from 'node:crypto';
import {
  type AnyEventEnvelope,
  EventConsumer as Consumer,
  createEvent,
  deadLetterHeaders,
  type EventConsumer,
  enqueueEvents,
  handleOnce,
  OutboxRelay,
  outboxTransaction,
} from '@shop/events';
import {
  createTestDatabase,
  createTestKafka,
  sampleOrderPlaced,
  type TestDatabase,
  type TestKafka,
  testLogger,
  waitFor,
} from '@shop/testing';
import { createLedgerClient, ledgerMigrations } from '@shop/testing/fixture';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const logger = testLogger('outbox-test');

function orderPlaced(orderId = randomUUID()) {
  return createEvent('order.placed', sampleOrderPlaced({ orderId }), { source: 'orders' });
}

describe('outbox → relay → Kafka → idempotent consumer', () => {
  let db: TestDatabase;
  let kafka: TestKafka;
  let prisma: ReturnType<typeof createLedgerClient>;
  const running: { stop: () => Promise<void> }[] = [];

  beforeAll(async () => {
    [db, kafka] = await Promise.all([createTestDatabase(ledgerMigrations), createTestKafka()]);
    prisma = createLedgerClient(db.url);
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((r) => r.stop()));
  });

  afterAll(async () => {
    await prisma.$disconnect();
    await kafka.cleanup();
    await db.drop();
  });

  function relay(options: { batchSize?: number; pollIntervalMs?: number } = {}) {
    const r = new OutboxRelay({
      databaseUrl: db.url,
      connection: kafka.connection,
      logger,
      pollIntervalMs: 50,
      ...options,
    });
    running.push(r);
    r.start();
    return r;
  }

  async function consumer(
    handlers: ConstructorParameters<typeof Consumer>[1]['handlers'],
    retryAttempts = 3,
  ) {
    const c: EventConsumer = new Consumer(kafka.connection, {
      groupId: `ledger-${randomUUID().slice(0, 8)}`,
      handlers,
      retry: { attempts: retryAttempts, initialDelayMs: 20, maxDelayMs: 100 },
    });
    running.push(c);
    await c.start();
    return c;
  }

  /** The consumer's side effect: one ledger entry per order, written in the same transaction as the claim. */
  const recordOrder = (group: string) => async (event: ReturnType<typeof orderPlaced>) => {
    await handleOnce(prisma, group, event, async (tx) => {
      await tx.ledgerEntry.create({
        data: { account: `order:${event.data.orderId}`, amount: event.data.total.amount },
      });
    });
  };

  it('delivers an event written in the same transaction as the state change', async () => {
    const event = orderPlaced();
    await consumer({ 'order.placed': recordOrder('ledger') });
    await prisma.$transaction(async (tx) => {
      await tx.ledgerEntry.create({ data: { account: 'orders', amount: '19.98', note: 'placed' } });
      await enqueueEvents(tx, [event]);
    });
    relay();

    const entry = await waitFor('the consumer to record the order', () =>
      prisma.ledgerEntry
        .findFirst({ where: { account: `order:${event.data.orderId}` } })
        .then((e) => e ?? undefined),
    );
    expect(entry.amount.toString()).toBe('19.98');
    const outboxRow = await prisma.outboxEvent.findUniqueOrThrow({ where: { id: event.id } });
    expect(outboxRow.publishedAt).not.toBeNull();
    expect(outboxRow.key).toBe(event.data.orderId);
    expect(await prisma.processedEvent.count({ where: { eventId: event.id } })).toBe(1);
  });

  it('stops promptly, more than once, and cannot be restarted', async () => {
    const r = new OutboxRelay({
      databaseUrl: db.url,
      connection: kafka.connection,
      logger,
      pollIntervalMs: 60_000,
    });
    r.start();
    await r.publishBatch(); // the relay is between polls now, 60 s from the next one
    const before = Date.now();
    await Promise.all([r.stop(), r.stop()]);
    await r.stop();
    expect(Date.now() - before).toBeLessThan(2_000);
    expect(() => r.start()).toThrow(/stopped/);
  });

  it('outboxTransaction: state change and validated events commit together, then onCommitted wakes the relay', async () => {
    const orderId = randomUUID();
    const userId = randomUUID();
    const topic = await kafka.readTopic(kafka.connection.topic('order.shipped'));
    // A 60 s poll: only the wake-up after COMMIT can publish within the test.
    const r = relay({ pollIntervalMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 200)); // past its first (empty) poll
    const committed: AnyEventEnvelope[][] = [];

    const entryId = await outboxTransaction(
      prisma,
      {
        source: 'ledger',
        correlationId: 'request-1',
        onCommitted: (events) => {
          committed.push([...events]);
          r.wake();
        },
      },
      async (tx, enqueue) => {
        const entry = await tx.ledgerEntry.create({ data: { account: `shipped:${orderId}`, amount: '0' } });
        const [event] = await enqueue({ type: 'order.shipped', data: { orderId, userId } });
        expect(event).toMatchObject({ type: 'order.shipped', source: 'ledger', correlationId: 'request-1' });
        expect(committed).toEqual([]); // not before COMMIT
        return entry.id;
      },
    );

    expect(await prisma.ledgerEntry.count({ where: { id: entryId } })).toBe(1);
    expect(committed).toHaveLength(1);
    const eventId = committed[0]?.[0]?.id;
    const row = await prisma.outboxEvent.findUniqueOrThrow({ where: { id: eventId ?? '' } });
    expect(row.key).toBe(orderId);
    await waitFor('the woken relay to publish', () =>
      topic.messages.some((m) => m.headers?.['event-id']?.toString() === eventId),
    );
  });

  it('outboxTransaction: an invalid draft or a failing step writes nothing and calls no onCommitted', async () => {
    let calls = 0;
    const account = `rolled-back:${randomUUID()}`;
    const onCommitted = () => void calls++;
    await expect(
      outboxTransaction(prisma, { source: 'ledger', onCommitted }, async (tx, enqueue) => {
        await tx.ledgerEntry.create({ data: { account, amount: '1' } });
        await enqueue({ type: 'order.shipped', data: { orderId: 'not-a-uuid', userId: randomUUID() } });
      }),
    ).rejects.toThrow(/uuid/i);
    await expect(
      outboxTransaction(prisma, { source: 'ledger', onCommitted }, async (tx, enqueue) => {
        await tx.ledgerEntry.create({ data: { account, amount: '1' } });
        await enqueue({ type: 'order.shipped', data: { orderId: randomUUID(), userId: randomUUID() } });
        throw new Error('business rule failed');
      }),
    ).rejects.toThrow('business rule failed');
    // A transaction that enqueued nothing has nothing to wake the relay for.
    await outboxTransaction(prisma, { source: 'ledger', onCommitted }, async (tx) => {
      await tx.ledgerEntry.create({ data: { account: `${account}:no-events`, amount: '1' } });
    });

    expect(await prisma.ledgerEntry.count({ where: { account } })).toBe(0);
    expect(calls).toBe(0);
  });

  it('purges rows published longer ago than the retention, on its own schedule', async () => {
    const old = orderPlaced();
    const recent = orderPlaced();
    await prisma.$transaction((tx) => enqueueEvents(tx, [old, recent]));
    await prisma.outboxEvent.update({
      where: { id: old.id },
      data: { publishedAt: new Date(Date.now() - 3_600_000) },
    });

    const r = new OutboxRelay({
      databaseUrl: db.url,
      connection: kafka.connection,
      logger,
      pollIntervalMs: 60_000,
      purge: { retentionMs: 60_000, intervalMs: 50 },
    });
    running.push(r);
    r.start(); // publishes `recent` now: published, but well within the retention

    await waitFor(
      'the purge to remove the old row',
      async () => (await prisma.outboxEvent.count({ where: { id: old.id } })) === 0,
    );
    await new Promise((resolve) => setTimeout(resolve, 200)); // a few more purges
    const kept = await prisma.outboxEvent.findUniqueOrThrow({ where: { id: recent.id } });
    expect(kept.publishedAt).not.toBeNull();
  });

  it('writes nothing, event included, when the transaction rolls back', async () => {
    const event = orderPlaced();
    await expect(
      prisma.$transaction(async (tx) => {
        await enqueueEvents(tx, [event]);
        throw new Error('business rule failed');
      }),
    ).rejects.toThrow('business rule failed');
    expect(await prisma.outboxEvent.count({ where: { id: event.id } })).toBe(0);
  });

  it('changes nothing when the same event is delivered again', async () => {
    const event = orderPlaced();
    let deliveries = 0;
    const record = recordOrder('ledger-redelivery');
    await consumer({
      'order.placed': async (e) => {
        // The topic also holds earlier tests' events; count only this one.
        if (e.id !== event.id) return;
        await record(e);
        deliveries++;
      },
    });
    const producer = await kafka.connection.producer();
    const message = { key: event.data.orderId, value: JSON.stringify(event) };
    await producer.send({
      topic: kafka.connection.topic('order.placed'),
      messages: [message, message, message],
    });

    await waitFor('three deliveries', () => deliveries === 3);
    expect(await prisma.ledgerEntry.count({ where: { account: `order:${event.data.orderId}` } })).toBe(1);
    expect(await prisma.processedEvent.count({ where: { eventId: event.id } })).toBe(1);
  });

  it('dead-letters poison messages and failing events, then carries on', async () => {
    const failing = orderPlaced();
    const good = orderPlaced();
    const handled: string[] = [];
    const c = await consumer(
      {
        'order.placed': async (event) => {
          if (event.id === failing.id) throw new Error('downstream rejected it');
          if (event.id === good.id) handled.push(event.id);
        },
      },
      2,
    );
    const dlq = await kafka.readTopic(c.deadLetterTopic);
    const producer = await kafka.connection.producer();
    const key = 'same-partition';
    await producer.send({
      topic: kafka.connection.topic('order.placed'),
      messages: [
        { key, value: 'not json at all' },
        { key, value: JSON.stringify({ ...orderPlaced(), data: { orderId: 'nope' } }) },
        { key, value: JSON.stringify(failing) },
        { key, value: JSON.stringify(good) },
      ],
    });

    await waitFor('the good event after the poison ones', () => handled.includes(good.id));
    await waitFor('three dead letters', () => dlq.messages.length >= 3);
    expect(dlq.messages).toHaveLength(3);
    const reasons = dlq.messages.map((m) => m.headers?.[deadLetterHeaders.error]?.toString());
    expect(reasons[0]).toContain('not JSON');
    expect(reasons[1]).toContain('invalid order.placed payload');
    expect(reasons[2]).toContain('downstream rejected it');
    expect(dlq.messages[2]?.headers?.[deadLetterHeaders.attempts]?.toString()).toBe('2');
    expect(dlq.messages[2]?.value?.toString()).toBe(JSON.stringify(failing));
    expect(dlq.messages[0]?.headers?.[deadLetterHeaders.originalTopic]?.toString()).toBe(
      kafka.connection.topic('order.placed'),
    );
    expect(handled).toEqual([good.id]);
  });

  it('publishes each outbox row once, in order per key, with two relays running at once', async () => {
    const orderIds = Array.from({ length: 5 }, () => randomUUID());
    const events = Array.from({ length: 250 }, (_, i) => orderPlaced(orderIds[i % orderIds.length]));
    // Written in 25 separate transactions, as 25 user actions would be.
    for (let i = 0; i < events.length; i += 10) {
      await prisma.$transaction((tx) => enqueueEvents(tx, events.slice(i, i + 10)));
    }
    const topic = await kafka.readTopic(kafka.connection.topic('order.placed'));
    relay({ batchSize: 20 });
    relay({ batchSize: 20 });

    await waitFor(
      'every row published',
      async () => (await prisma.outboxEvent.count({ where: { publishedAt: null } })) === 0,
    );
    const published = new Set(events.map((e) => e.id));
    // The topic also holds earlier tests' messages (some of them not even JSON): keep this test's events.
    const ours = () =>
      topic.messages.map((m) => m.headers?.['event-id']?.toString() ?? '').filter((id) => published.has(id));
    await waitFor('every event on the topic', () => ours().length >= events.length);
    await new Promise((resolve) => setTimeout(resolve, 500)); // room for a duplicate to show up, if any
    const ids = ours();
    expect(ids).toHaveLength(events.length);
    expect(new Set(ids).size).toBe(events.length);
    for (const orderId of orderIds) {
      const written = events.filter((e) => e.data.orderId === orderId).map((e) => e.id);
      expect(ids.filter((id) => written.includes(id))).toEqual(written);
    }
  });
});
