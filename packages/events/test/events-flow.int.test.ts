import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  BroadcastFeed,
  type EventData,
  type EventParts,
  eventParts,
  handleOnce,
  listDeadLetters,
  outboxTransaction,
  replayDeadLetters,
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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const run = promisify(execFile);

function placed(orderId: string): EventData<'order.placed'> {
  return sampleOrderPlaced({ orderId });
}

/** Resolves with the next value, or 'nothing' if none comes within `ms`. */
async function nextWithin<T>(iterator: AsyncIterator<T>, ms: number): Promise<T | 'nothing'> {
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    iterator.next(),
    new Promise<'nothing'>((resolve) => {
      timer = setTimeout(() => resolve('nothing'), ms);
    }),
  ]);
  clearTimeout(timer);
  if (result === 'nothing') return result;
  if (result.done) throw new Error('the subscription ended');
  return result.value;
}

// The acceptance path of @shop/events, against the real broker and Postgres: one transaction writes a
// ledger row and its event; the relay publishes it at once (woken after COMMIT); the feed of each of two
// instances hands it to two subscribers each; a consumer group handles it exactly once; a poison event
// reaches dlq.<group> and, once the cause is fixed, a replay (library, then the CLI) brings it back once.
describe('events flow: outbox → relay → feeds and a consumer group → dead letters → replay', () => {
  const logger = testLogger('events-flow');
  const groupId = 'ledger-projector';
  let db: TestDatabase;
  let kafka: TestKafka;
  let prisma: ReturnType<typeof createLedgerClient>;
  let parts: EventParts;
  let feedOfInstanceB: BroadcastFeed<'order.placed'>;
  let feedOfInstanceA: BroadcastFeed<'order.placed'>;
  const stops: (() => Promise<unknown>)[] = [];
  /** Orders whose projection fails until the test "fixes the cause". */
  const broken = new Set<string>();
  /** Every handler call and every call whose work ran, by event id. */
  const calls: string[] = [];
  const processed: string[] = [];

  const count = (list: string[], id: string) => list.filter((x) => x === id).length;
  const projectedRows = (orderId: string) =>
    prisma.ledgerEntry.count({ where: { account: `projected:${orderId}` } });

  /** What a service does through its repository: the state change and its event in one transaction. */
  async function placeOrder(orderId: string) {
    return outboxTransaction(
      prisma,
      { source: 'orders', onCommitted: () => parts.relay?.wake() },
      async (tx, enqueue) => {
        await tx.ledgerEntry.create({ data: { account: `order:${orderId}`, amount: '19.98' } });
        const [event] = await enqueue({ type: 'order.placed', data: placed(orderId) });
        if (!event) throw new Error('nothing enqueued');
        return event;
      },
    );
  }

  beforeAll(async () => {
    [db, kafka] = await Promise.all([createTestDatabase(ledgerMigrations), createTestKafka()]);
    prisma = createLedgerClient(db.url);
    feedOfInstanceA = new BroadcastFeed(kafka.connection, {
      name: 'orders',
      topics: ['order.placed'],
      instanceId: 'instance-a',
    });
    feedOfInstanceB = new BroadcastFeed(kafka.connection, {
      name: 'orders',
      topics: ['order.placed'],
      instanceId: 'instance-b',
    });
    parts = eventParts({
      connection: kafka.connection,
      logger,
      // A poll interval longer than the test: only the wake-up after COMMIT publishes in time.
      outbox: { databaseUrl: db.url, pollIntervalMs: 60_000 },
      consumers: [
        {
          groupId,
          retry: { attempts: 3, initialDelayMs: 20, maxDelayMs: 50 },
          handlers: {
            'order.placed': async (event) => {
              calls.push(event.id);
              if (broken.has(event.data.orderId)) throw new Error('projection rejected the order');
              const outcome = await handleOnce(prisma, groupId, event, async (tx) => {
                await tx.ledgerEntry.create({
                  data: { account: `projected:${event.data.orderId}`, amount: event.data.total.amount },
                });
              });
              if (outcome === 'processed') processed.push(event.id);
            },
          },
        },
      ],
      feeds: [feedOfInstanceA],
    });
    // As the launcher does: start in order, stop in reverse.
    for (const part of parts.background) stops.unshift(await part.start());
    await feedOfInstanceB.start();
    stops.unshift(() => feedOfInstanceB.stop());
  });

  afterAll(async () => {
    for (const stop of stops) await stop();
    await prisma?.$disconnect();
    await kafka?.cleanup();
    await db?.drop();
  });

  it('is ready once started', async () => {
    expect(Object.keys(parts.readiness).sort()).toEqual([
      `consumer:${groupId}`,
      'feed:orders',
      'outbox-relay',
    ]);
    await Promise.all(Object.values(parts.readiness).map((check) => check()));
    await feedOfInstanceB.readiness();
  });

  it('delivers a committed event to every subscriber of every instance and to the group exactly once', async () => {
    const orderId = randomUUID();
    const forOrder = (feed: BroadcastFeed<'order.placed'>) =>
      feed.subscribe((e) => e.data.orderId === orderId);
    const subscribers = [
      forOrder(feedOfInstanceA),
      forOrder(feedOfInstanceA),
      forOrder(feedOfInstanceB),
      forOrder(feedOfInstanceB),
    ];
    const elsewhere = feedOfInstanceB.subscribe((e) => e.data.orderId === randomUUID());

    const event = await placeOrder(orderId);

    expect(await prisma.ledgerEntry.count({ where: { account: `order:${orderId}` } })).toBe(1);
    for (const subscriber of subscribers) {
      expect(await nextWithin(subscriber, 10_000)).toEqual(event);
    }
    await waitFor('the projection', async () => (await projectedRows(orderId)) === 1, { timeoutMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 500)); // room for a duplicate delivery to show
    expect(count(calls, event.id)).toBe(1);
    expect(count(processed, event.id)).toBe(1);
    expect(await projectedRows(orderId)).toBe(1);
    expect(await nextWithin(elsewhere, 50)).toBe('nothing');
    for (const subscriber of [...subscribers, elsewhere]) await subscriber.return?.();
  });

  it('dead-letters an event whose handler keeps failing, and replays it once the cause is fixed', async () => {
    const orderId = randomUUID();
    broken.add(orderId);
    const watcher = feedOfInstanceA.subscribe((e) => e.data.orderId === orderId);
    const event = await placeOrder(orderId);

    const [letter] = await waitFor('the dead letter', async () => {
      const letters = (await listDeadLetters(kafka.connection, groupId)).filter(
        (l) => l.eventId === event.id,
      );
      return letters.length > 0 ? letters : undefined;
    });
    expect(letter).toMatchObject({
      eventType: 'order.placed',
      originalTopic: kafka.connection.topic('order.placed'),
      error: 'projection rejected the order',
      attempts: 3,
      replayed: false,
    });
    expect(count(calls, event.id)).toBe(3);
    expect(await projectedRows(orderId)).toBe(0);

    broken.delete(orderId);
    expect(await replayDeadLetters(kafka.connection, groupId)).toEqual({ replayed: 1, skipped: 0 });

    await waitFor('the replayed projection', async () => (await projectedRows(orderId)) === 1);
    expect(await replayDeadLetters(kafka.connection, groupId)).toEqual({ replayed: 0, skipped: 0 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(count(calls, event.id)).toBe(4);
    expect(count(processed, event.id)).toBe(1);
    expect(await projectedRows(orderId)).toBe(1);
    // Live subscribers saw the event when it happened, not again when it was replayed.
    expect(await nextWithin(watcher, 5_000)).toEqual(event);
    expect(await nextWithin(watcher, 200)).toBe('nothing');
    await watcher.return?.();
  });

  it('lists and replays dead letters with `pnpm events:dlq`', async () => {
    const orderId = randomUUID();
    broken.add(orderId);
    const event = await placeOrder(orderId);
    await waitFor('the dead letter', () => count(calls, event.id) === 3);
    const env = { ...process.env, KAFKA_TOPIC_PREFIX: kafka.prefix };

    // The listing is read from Kafka: wait until the dead letter is there.
    const listing = await waitFor('the CLI to list it', async () => {
      const { stdout } = await run('pnpm', ['--silent', 'events:dlq', 'list', groupId], {
        cwd: repoRoot,
        env,
      });
      return stdout.includes(event.id) ? stdout : undefined;
    });
    expect(listing).toContain(
      `${kafka.connection.topic(`dlq.${groupId}`)}: 2 dead letter(s), 1 not replayed yet`,
    );
    expect(listing).toMatch(new RegExp(`NOT replayed\\n.*order\\.placed ${event.id}`));
    expect(listing).toContain('error projection rejected the order');

    broken.delete(orderId);
    const { stdout } = await run('pnpm', ['--silent', 'events:dlq', 'replay', groupId], {
      cwd: repoRoot,
      env,
    });
    expect(stdout).toContain(`replayed 1 dead letter(s) of ${kafka.connection.topic(`dlq.${groupId}`)}`);

    await waitFor('the replayed projection', async () => (await projectedRows(orderId)) === 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(count(processed, event.id)).toBe(1);
    expect(count(calls, event.id)).toBe(4);
    expect((await listDeadLetters(kafka.connection, groupId)).every((letter) => letter.replayed)).toBe(true);
  });
});
