import { z } from 'zod';

// The one catalogue of domain events: topic name = event type. Producers and consumers share these
// payload schemas, so a consumer rejects (dead-letters) a payload its producer could never have sent.
//
// Order is kept per key WITHIN a topic. Events of one aggregate on different topics (order.placed and
// order.cancelled) can reach a consumer in either order, so handlers must not assume it: e.g. a cancel
// that arrives first is recorded, and the late placement then finds it and does nothing.

const uuid = z.uuid();
const decimal = z.string().regex(/^-?\d+(\.\d+)?$/, 'a decimal string such as "99.99"');
const money = z.object({ amount: decimal, currency: z.string().length(3) });
const orderLine = z.object({ productId: uuid, quantity: z.number().int().positive(), unitPrice: money });

export const eventCatalogue = {
  'order.placed': z.object({
    orderId: uuid,
    userId: uuid,
    items: z.array(orderLine).min(1),
    total: money,
  }),
  'order.cancelled': z.object({ orderId: uuid, userId: uuid, reason: z.string().optional() }),
  'order.shipped': z.object({ orderId: uuid, userId: uuid }),
  'order.status-changed': z.object({ orderId: uuid, userId: uuid, from: z.string(), to: z.string() }),
  'payment.authorized': z.object({ paymentId: uuid, orderId: uuid, userId: uuid, amount: money }),
  'payment.failed': z.object({ paymentId: uuid, orderId: uuid, userId: uuid, reason: z.string() }),
  'payment.captured': z.object({ paymentId: uuid, orderId: uuid, userId: uuid, amount: money }),
  'payment.refunded': z.object({
    paymentId: uuid,
    orderId: uuid,
    userId: uuid,
    amount: money,
    restock: z.boolean(),
  }),
  'payment.status-changed': z.object({
    paymentId: uuid,
    orderId: uuid,
    userId: uuid,
    from: z.string(),
    to: z.string(),
  }),
  'inventory.reserved': z.object({
    orderId: uuid,
    reservations: z.array(
      z.object({ inventoryId: uuid, productId: uuid, quantity: z.number().int().positive() }),
    ),
    expiresAt: z.iso.datetime(),
  }),
  'inventory.reservation-failed': z.object({
    orderId: uuid,
    reason: z.string(),
    productIds: z.array(uuid),
  }),
  'inventory.released': z.object({
    orderId: uuid,
    reason: z.enum(['PAYMENT_FAILED', 'ORDER_CANCELLED', 'EXPIRED']),
  }),
  'inventory.low-stock': z.object({
    inventoryId: uuid,
    productId: uuid,
    sku: z.string(),
    availableQuantity: z.number().int(),
    reorderLevel: z.number().int(),
    reorderQuantity: z.number().int(),
  }),
} as const;

export type EventType = keyof typeof eventCatalogue;
export type EventData<T extends EventType> = z.infer<(typeof eventCatalogue)[T]>;

/**
 * The Kafka key of each event: its aggregate's id, so one aggregate's events share a partition and stay in
 * order. Payment and reservation events follow their order; a low-stock alert follows its inventory item.
 */
export function aggregateKey<T extends EventType>(type: T, data: EventData<T>): string {
  if (type === 'inventory.low-stock') return (data as EventData<'inventory.low-stock'>).inventoryId;
  return (data as { orderId: string }).orderId;
}

/** Every topic the system uses, created up front (brokers run with auto.create.topics.enable=false). */
export const domainTopics = Object.keys(eventCatalogue) as EventType[];

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(eventCatalogue, type);
}

/** Dead-letter topic of one consumer group: poison messages wait there for an admin. */
export function deadLetterTopic(groupId: string): string {
  return `dlq.${groupId}`;
}
