import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  deadLetterTopic,
  defineEvent,
  domainTopics,
  type EventDefinition,
  eventCatalogue,
  eventKeyOf,
  isEventType,
} from './catalogue';
import { createEvent, eventKey, parseEnvelope } from './envelope';

describe('event catalogue', () => {
  it('gives every event type a payload schema and a key function', () => {
    for (const type of domainTopics) {
      const definition: EventDefinition = eventCatalogue[type];
      expect(definition.schema).toBeInstanceOf(z.ZodType);
      expect(typeof definition.key).toBe('function');
    }
    expect(domainTopics).toEqual(Object.keys(eventCatalogue));
  });

  it('keys order, payment and reservation events by order, a low-stock alert by inventory item', () => {
    const orderId = randomUUID();
    const inventoryId = randomUUID();
    const refunded = createEvent(
      'payment.refunded',
      {
        paymentId: randomUUID(),
        orderId,
        userId: randomUUID(),
        amount: { amount: '5.00', currency: 'EUR' },
        restock: false,
      },
      { source: 'payments' },
    );
    expect(eventKey(refunded)).toBe(orderId);
    expect(eventKeyOf('inventory.released', { orderId, reason: 'EXPIRED' })).toBe(orderId);
    const lowStock = {
      inventoryId,
      productId: randomUUID(),
      sku: 'SKU-1',
      availableQuantity: 2,
      reorderLevel: 5,
      reorderQuantity: 20,
    };
    expect(eventKeyOf('inventory.low-stock', lowStock)).toBe(inventoryId);
    // The key survives a trip through Kafka: parseEnvelope yields the same data.
    expect(eventKey(parseEnvelope(JSON.stringify(refunded)))).toBe(orderId);
  });

  it('types a key function by its schema, and refuses an entry without one', () => {
    const ok = defineEvent({ schema: z.object({ cartId: z.string() }), key: (data) => data.cartId });
    expect(ok.key({ cartId: 'c1' })).toBe('c1');
    // @ts-expect-error a key must read a field the payload has
    defineEvent({ schema: z.object({ cartId: z.string() }), key: (data) => data.orderId });
    // @ts-expect-error an event type without a key does not compile
    const missingKey: EventDefinition = { schema: z.object({ cartId: z.string() }) };
    expect(missingKey).toBeDefined();
  });

  it('validates payloads when events are made', () => {
    expect(() =>
      createEvent('order.shipped', { orderId: 'nope', userId: randomUUID() }, { source: 'orders' }),
    ).toThrow();
    expect(isEventType('order.placed')).toBe(true);
    expect(isEventType('order.exploded')).toBe(false);
    expect(deadLetterTopic('notifications')).toBe('dlq.notifications');
  });
});
