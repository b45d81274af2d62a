import { createLogger } from '@shop/kit';
import { describe, expect, it } from 'vitest';
import { BroadcastFeed } from './feed';
import { KafkaConnection } from './kafka';
import { eventParts } from './parts';

// Wiring only: nothing here connects (kafkajs and pg connect on first use).
const logger = createLogger('parts-test', 'silent');
const connection = new KafkaConnection({ brokers: ['localhost:1'], clientId: 'parts-test', logger });

describe('eventParts', () => {
  it('names its background parts and readiness checks for the launcher, kafka first, relay last', () => {
    const feed = new BroadcastFeed(connection, { name: 'orders', topics: ['order.status-changed'] });
    const parts = eventParts({
      connection,
      logger,
      outbox: { databaseUrl: 'postgresql://postgres@127.0.0.1:1/none' },
      consumers: [
        { groupId: 'notifications', handlers: { 'order.placed': async () => {} } },
        { groupId: 'notifications-audit', handlers: {}, retry: { attempts: 1 } },
      ],
      feeds: [feed],
    });

    expect(parts.background.map((part) => part.name)).toEqual([
      'kafka',
      'feed:orders',
      'consumer:notifications',
      'consumer:notifications-audit',
      'outbox-relay',
    ]);
    expect(Object.keys(parts.readiness).sort()).toEqual(
      ['consumer:notifications', 'consumer:notifications-audit', 'feed:orders', 'outbox-relay'].sort(),
    );
    expect(parts.relay).toBeDefined();
    expect(parts.consumers.map((c) => c.groupId)).toEqual(['notifications', 'notifications-audit']);
  });

  it('has no relay without a database', async () => {
    const parts = eventParts({ connection, logger });
    expect(parts.relay).toBeUndefined();
    expect(parts.background.map((part) => part.name)).toEqual(['kafka']);
    expect(parts.readiness).toEqual({});
  });

  it('reports the relay not ready until it runs', async () => {
    const { relay, readiness } = eventParts({
      connection,
      logger,
      outbox: { databaseUrl: 'postgresql://postgres@127.0.0.1:1/none' },
    });
    await expect(readiness['outbox-relay']?.()).rejects.toThrow(/not running/);
    await relay?.stop();
  });
});
