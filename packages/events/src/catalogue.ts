import { z } from 'zod';

// The one catalogue of domain events: topic name = event type. Producers and consumers share these
// payload schemas, so a consumer rejects (dead-letters) a payload its producer could never have sent.
//
// Order is kept per key WITHIN a topic. Events of one aggregate on different topics (order.placed and
// order.cancelled) can reach a consumer in either order, so handlers must not assume it: e.g. a cancel
// that arrives first is recorded, and the late placement then finds it and does nothing.

/** One event type: its payload schema and its Kafka key (the aggregate id, so one aggregate stays in order). */
export interface EventDefinition<S extends z.ZodType = z.ZodType> {
  schema: S;
  // Method syntax (bivariant) so every entry fits `Record<string, EventDefinition>` below.
  key(data: z.output<S>): string;
}

/** Ties `key`'s parameter to the schema's output type, so the key function is checked against the payload. */
export function defineEvent<S extends z.ZodType>(definition: EventDefinition<S>): EventDefinition<S> {
  return definition;
}

const uuid = z.uuid();
const decimal = z.string().regex(/^-?\d+(\.\d+)?$/, 'a decimal string such as "99.99"');
const money = z.object({ amount: decimal, currency: z.string().length(3) });
// Each line carries the product as it was sold (sku, name, price at the time), so consumers need no lookup.
const orderLine = z.object({
  productId: uuid,
  sku: z.string(),
  name: z.string(),
  quantity: z.number().int().positive(),
  unitPrice: money,
});
const address = z.object({
  street: z.string(),
  city: z.string(),
  state: z.string(),
  zipCode: z.string(),
  country: z.string(),
});
/** Why an order ended up CANCELLED. */
export const cancellationReasons = [
  'CUSTOMER_REQUEST',
  'ADMIN_REQUEST',
  'OUT_OF_STOCK',
  'PAYMENT_FAILED',
  'RESERVATION_EXPIRED',
] as const;

// Payment and reservation events follow their order (key orderId); a low-stock alert follows its item.
const byOrder = (data: { orderId: string }) => data.orderId;

export const eventCatalogue = {
  'order.placed': defineEvent({
    schema: z.object({
      orderId: uuid,
      userId: uuid,
      // The customer's contact travels with the order: notifications mails it without asking users.
      userEmail: z.email(),
      userName: z.string().optional(),
      items: z.array(orderLine).min(1),
      total: money,
      shippingAddress: address,
      // Present when the order was checked out from a cart: the cart subgraph clears it on this event.
      cart: z.object({ guestCartId: z.string().optional() }).optional(),
    }),
    key: byOrder,
  }),
  'order.cancelled': defineEvent({
    schema: z.object({ orderId: uuid, userId: uuid, reason: z.enum(cancellationReasons) }),
    key: byOrder,
  }),
  'order.shipped': defineEvent({ schema: z.object({ orderId: uuid, userId: uuid }), key: byOrder }),
  'order.status-changed': defineEvent({
    schema: z.object({
      orderId: uuid,
      userId: uuid,
      from: z.string(),
      to: z.string(),
      reason: z.string().optional(),
    }),
    key: byOrder,
  }),
  'payment.authorized': defineEvent({
    schema: z.object({ paymentId: uuid, orderId: uuid, userId: uuid, amount: money }),
    key: byOrder,
  }),
  'payment.failed': defineEvent({
    schema: z.object({ paymentId: uuid, orderId: uuid, userId: uuid, reason: z.string() }),
    key: byOrder,
  }),
  'payment.captured': defineEvent({
    schema: z.object({ paymentId: uuid, orderId: uuid, userId: uuid, amount: money }),
    key: byOrder,
  }),
  'payment.refunded': defineEvent({
    schema: z.object({ paymentId: uuid, orderId: uuid, userId: uuid, amount: money, restock: z.boolean() }),
    key: byOrder,
  }),
  'payment.status-changed': defineEvent({
    schema: z.object({ paymentId: uuid, orderId: uuid, userId: uuid, from: z.string(), to: z.string() }),
    key: byOrder,
  }),
  'inventory.reserved': defineEvent({
    schema: z.object({
      orderId: uuid,
      reservations: z.array(
        z.object({ inventoryId: uuid, productId: uuid, quantity: z.number().int().positive() }),
      ),
      expiresAt: z.iso.datetime(),
    }),
    key: byOrder,
  }),
  'inventory.reservation-failed': defineEvent({
    schema: z.object({ orderId: uuid, reason: z.string(), productIds: z.array(uuid) }),
    key: byOrder,
  }),
  'inventory.released': defineEvent({
    schema: z.object({ orderId: uuid, reason: z.enum(['PAYMENT_FAILED', 'ORDER_CANCELLED', 'EXPIRED']) }),
    key: byOrder,
  }),
  // Every change of an item's quantities (its subscription feed, `inventoryChanged(productId)`).
  'inventory.stock-changed': defineEvent({
    schema: z.object({
      inventoryId: uuid,
      productId: uuid,
      sku: z.string(),
      availableQuantity: z.number().int(),
      reservedQuantity: z.number().int(),
      totalQuantity: z.number().int(),
      /** What changed it: a stock transaction type, or RESERVED / RELEASED / CONFIRMED. */
      cause: z.string(),
    }),
    key: (data) => data.inventoryId,
  }),
  // A notification recorded for a user (its subscription feed, `notificationReceived`).
  'notification.created': defineEvent({
    schema: z.object({
      notificationId: uuid,
      userId: uuid.nullable(),
      type: z.string(),
      channel: z.string(),
      subject: z.string(),
      status: z.string(),
    }),
    key: (data) => data.notificationId,
  }),
  // A catalogue change carts and orders care about (a cart re-prices its lines; a product can be hidden).
  'product.changed': defineEvent({
    schema: z.object({
      productId: uuid,
      sku: z.string(),
      name: z.string(),
      price: money,
      active: z.boolean(),
      change: z.enum(['CREATED', 'UPDATED']),
    }),
    key: (data) => data.productId,
  }),
  'inventory.low-stock': defineEvent({
    schema: z.object({
      inventoryId: uuid,
      productId: uuid,
      sku: z.string(),
      availableQuantity: z.number().int(),
      reorderLevel: z.number().int(),
      reorderQuantity: z.number().int(),
    }),
    key: (data) => data.inventoryId,
  }),
} satisfies Record<string, EventDefinition>;

export type EventType = keyof typeof eventCatalogue;
export type EventData<T extends EventType> = z.output<(typeof eventCatalogue)[T]['schema']>;

/** Every topic the system uses, created up front (brokers run with auto.create.topics.enable=false). */
export const domainTopics = Object.keys(eventCatalogue) as EventType[];

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(eventCatalogue, type);
}

/** The Kafka key of an event: what its catalogue entry says (the aggregate's id). */
export function eventKeyOf<T extends EventType>(type: T, data: EventData<T>): string {
  return (eventCatalogue[type] as EventDefinition).key(data);
}

/** Dead-letter topic of one consumer group: poison messages wait there for an admin. */
export function deadLetterTopic(groupId: string): string {
  return `dlq.${groupId}`;
}
