import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEvent, EventConsumer, enqueueEvents, handleOnce, OutboxRelay } from '@shop/events';
import { KafkaBroker } from '@shop/infra';
import {
  createTestDatabase,
  createTestKafka,
  freePort,
  type TestDatabase,
  type TestKafka,
  testLogger,
  waitFor,
} from '@shop/testing';
import { createLedgerClient, ledgerMigrations } from '@shop/testing/fixture';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// This test owns its broker (own ports and data dir) so stopping it disturbs no other test.
describe('Kafka down between the outbox write and the relay', () => {
  const logger = testLogger('broker-restart');
  const dir = mkdtempSync(join(tmpdir(), 'shop-kafka-'));
  let broker: KafkaBroker;
  let db: TestDatabase;
  let kafka: TestKafka;
  let prisma: ReturnType<typeof createLedgerClient>;

  beforeAll(async () => {
    // Two freePort calls in a row can return the same port: the controller's must differ from the broker's.
    const port = await freePort();
    let controllerPort = await freePort();
    while (controllerPort === port) controllerPort = await freePort();
    broker = new KafkaBroker({ dir, port, controllerPort, heapMb: 384 });
    await broker.start();
    [db, kafka] = await Promise.all([
      createTestDatabase(ledgerMigrations),
      createTestKafka({ brokers: [broker.bootstrap], logger }),
    ]);
    prisma = createLedgerClient(db.url);
  });

  afterAll(async () => {
    await prisma?.$disconnect();
    await kafka?.cleanup().catch(() => {});
    await db?.drop();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers the event exactly once after the broker comes back', async () => {
    const orderId = randomUUID();
    const event = createEvent('order.shipped', { orderId, userId: randomUUID() }, { source: 'orders' });
    // Every call, and every call whose work ran: a redelivery would show as a call, a lost dedup as a run.
    const calls: string[] = [];
    const processed: string[] = [];
    const consumer = new EventConsumer(kafka.connection, {
      groupId: 'ledger-restart',
      handlers: {
        'order.shipped': async (e) => {
          calls.push(e.id);
          const outcome = await handleOnce(prisma, 'ledger-restart', e, async (tx) => {
            await tx.ledgerEntry.create({ data: { account: `shipped:${e.data.orderId}`, amount: '0' } });
          });
          if (outcome === 'processed') processed.push(e.id);
        },
      },
    });
    await consumer.start();

    await prisma.$transaction((tx) => enqueueEvents(tx, [event]));
    await broker.stop();

    const relay = new OutboxRelay({
      databaseUrl: db.url,
      connection: kafka.connection,
      logger,
      pollIntervalMs: 100,
      maxBackoffMs: 1_000,
    });
    relay.start();
    // The relay keeps failing while the broker is down, and the row stays unpublished.
    await waitFor('a failed publish attempt', async () => {
      const row = await prisma.outboxEvent.findUniqueOrThrow({ where: { id: event.id } });
      return row.attempts > 0 && row.lastError !== null;
    });
    expect((await prisma.outboxEvent.findUniqueOrThrow({ where: { id: event.id } })).publishedAt).toBeNull();

    await broker.start();
    await waitFor(
      'the event to be consumed after the restart',
      async () => (await prisma.ledgerEntry.count({ where: { account: `shipped:${orderId}` } })) === 1,
      { timeoutMs: 100_000 },
    );
    // A second relay pass or a consumer rebalance must not bring it back.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await prisma.ledgerEntry.count({ where: { account: `shipped:${orderId}` } })).toBe(1);
    expect(await prisma.processedEvent.count({ where: { eventId: event.id } })).toBe(1);
    expect(calls).toEqual([event.id]);
    expect(processed).toEqual([event.id]);
    expect(
      (await prisma.outboxEvent.findUniqueOrThrow({ where: { id: event.id } })).publishedAt,
    ).not.toBeNull();
    const topic = await kafka.readTopic(kafka.connection.topic('order.shipped'));
    await waitFor('the topic to be read', () => topic.messages.length > 0);
    expect(topic.messages.map((m) => JSON.parse(m.value?.toString() ?? '{}').id)).toEqual([event.id]);

    await relay.stop();
    await consumer.stop();
    // A JVM restart on a busy 2-core machine (the whole suite runs in parallel) can take a while.
  }, 150_000);
});
