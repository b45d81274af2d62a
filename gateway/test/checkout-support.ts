import { randomUUID } from 'node:crypto';
import { CreatePaymentIntentDocument, PaymentByOrderDocument, type ShopClient } from '@shop/client';
import { queryDatabase, subscribeOverWs, type TestKafka, waitFor } from '@shop/testing';
import { type DocumentNode, print } from 'graphql';
import type { TestSupergraph } from './supergraph';

// What the checkout journey and the replay drill do besides GraphQL requests: pay at the local Stripe server,
// read the local mailbox, subscribe with a generated document, and know when a subscription reaches its feed.

/** A generated TypedDocumentNode (the shape of @graphql-typed-document-node/core, which @shop/client emits). */
type TypedDocument<R, V> = DocumentNode & { __apiType?: (variables: V) => R };

export interface TypedSubscription<R> {
  values: { data?: R | null; errors?: unknown[] }[];
  /** 'complete', or the error that ended it. */
  ended: Promise<unknown>;
  close: () => Promise<void>;
}

/** A generated subscription document over the gateway's websocket, as a browser would send it. */
export function subscribeTyped<R, V>(
  supergraph: TestSupergraph,
  document: TypedDocument<R, V>,
  variables: V,
  token: string,
): TypedSubscription<R> {
  const subscribed = subscribeOverWs(
    supergraph.gateway.wsUrl,
    print(document),
    variables as Record<string, unknown>,
    token,
  );
  return subscribed as unknown as TypedSubscription<R>;
}

type ProbeType = 'order.status-changed' | 'payment.status-changed';

/** The `source` of every probe event, so a test can tell probes from the system's own events. */
export const PROBE_SOURCE = 'test';

/**
 * graphql-ws does not say when the subgraph's feed holds a subscription: publish harmless probes (a status
 * "changing" to itself, reason PROBE) on the feed's topic until the subscriber has seen one. The envelope is
 * the outbox's (the gateway does not depend on @shop/events), with `source` PROBE_SOURCE.
 */
export async function untilFeedDelivers(
  supergraph: { kafka: TestKafka },
  type: ProbeType,
  data: { orderId: string } & Record<string, string>,
  seen: () => boolean,
): Promise<void> {
  const producer = await supergraph.kafka.connection.producer();
  await waitFor(
    `a ${type} probe through the gateway`,
    async () => {
      if (seen()) return true;
      const event = {
        id: randomUUID(),
        type,
        version: 1,
        occurredAt: new Date().toISOString(),
        source: PROBE_SOURCE,
        correlationId: randomUUID(),
        data,
      };
      await producer.send({
        topic: supergraph.kafka.connection.topic(type),
        messages: [{ key: data.orderId, value: JSON.stringify(event) }],
      });
      return false;
    },
    { timeoutMs: 30_000, intervalMs: 300 },
  );
}

/** A running supergraph of any kind (in-process for e2e, processes for drills): where payments' settings are. */
export interface WithPayments {
  subgraphs: Record<string, { env: Record<string, string> } | undefined>;
}

/**
 * Pays an order as a client does: waits until payments has opened its payment (from order.placed), asks for one
 * intent per order (idempotent: the key is the order's), and confirms the card at the local Stripe.
 */
export async function payOrder(
  supergraph: WithPayments,
  client: ShopClient,
  orderId: string,
): Promise<number> {
  await waitFor(
    `the payment of ${orderId}`,
    async () => (await client.data(PaymentByOrderDocument, { orderId })).paymentByOrder,
    { timeoutMs: 30_000 },
  );
  const { createPaymentIntent } = await client.data(CreatePaymentIntentDocument, {
    orderId,
    idempotencyKey: `pay-${orderId}`,
  });
  return confirmCard(supergraph, createPaymentIntent.clientSecret);
}

/**
 * Confirms a PaymentIntent at the local Stripe-compatible server the way Stripe.js would (the intent id is the
 * client secret up to `_secret_`); the server then sends the signed webhook to the payments subgraph.
 */
export async function confirmCard(
  supergraph: WithPayments,
  clientSecret: string,
  paymentMethod: 'pm_card_visa' | 'pm_card_chargeDeclined' = 'pm_card_visa',
): Promise<number> {
  const payments = supergraph.subgraphs.payments;
  if (!payments) throw new Error('payments is not running');
  const intentId = clientSecret.split('_secret_')[0] ?? '';
  const response = await fetch(`${payments.env.STRIPE_API_URL}/v1/payment_intents/${intentId}/confirm`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${payments.env.STRIPE_SECRET_KEY}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: `payment_method=${paymentMethod}`,
  });
  await response.arrayBuffer();
  return response.status;
}

/** What a local Stripe event is about: a PaymentIntent (with what it received) or a refund (with its intent). */
export interface StripeEventObject {
  id: string;
  payment_intent?: string;
  amount_received?: number;
}

/** The events the local Stripe server sent (`GET /_local/events`, not Stripe's), as type and object id. */
export async function stripeEvents(
  supergraph: WithPayments,
): Promise<{ type: string; object: StripeEventObject }[]> {
  const payments = supergraph.subgraphs.payments;
  if (!payments) throw new Error('payments is not running');
  const response = await fetch(`${payments.env.STRIPE_API_URL}/_local/events`, {
    headers: { authorization: `Bearer ${payments.env.STRIPE_SECRET_KEY}` },
  });
  const { data } = (await response.json()) as {
    data: { type: string; data: { object: StripeEventObject } }[];
  };
  return data.map((event) => ({ type: event.type, object: event.data.object }));
}

export interface Mail {
  to: string[];
  subject: string;
  text: string;
}

/** Every email the local SMTP sink of the notifications subgraph received (its JSON API). */
export async function mailbox(supergraph: TestSupergraph): Promise<Mail[]> {
  const notifications = supergraph.subgraphs.notifications;
  if (!notifications) throw new Error('notifications is not running');
  const response = await fetch(`http://127.0.0.1:${notifications.env.MAILBOX_HTTP_PORT}/api/messages`);
  return (await response.json()) as Mail[];
}

/** The emails to one address. */
export async function mailTo(supergraph: TestSupergraph, address: string): Promise<Mail[]> {
  return (await mailbox(supergraph)).filter((mail) => mail.to.includes(address));
}

export const address = {
  street: '123 Main St',
  city: 'Boston',
  state: 'MA',
  zipCode: '02101',
  country: 'US',
};

/** Cents of a Decimal string such as "70.97" (money is exact: never add floats). */
export const cents = (amount: string): number => Math.round(Number(amount) * 100);
export const amount = (value: number): string => (value / 100).toFixed(2);

/** Orders whose stock left the shelf: paid and not cancelled or refunded. */
const soldStatuses = ['PAID', 'PROCESSING', 'SHIPPED', 'DELIVERED'];

/**
 * The stock equation for `productIds`, checked in the databases once every order has settled: on each item
 * total = available + reserved, nothing reserved, and total = initial − what the sold orders hold (PAID or
 * further along: inventory books a sale when the payment is authorised). Returns the broken lines (empty when
 * it holds).
 */
export async function stockEquationProblems(options: {
  ordersDb: string;
  inventoryDb: string;
  productIds: readonly string[];
  initial: number;
}): Promise<string[]> {
  const sold = new Map(
    (
      await queryDatabase<{ product_id: string; quantity: number }>(
        options.ordersDb,
        `SELECT i.product_id::text, sum(i.quantity)::int AS quantity FROM order_items i
         JOIN orders o ON o.id = i.order_id WHERE o.status::text = ANY($1::text[])
         GROUP BY i.product_id`,
        [soldStatuses],
      )
    ).map((row) => [row.product_id, row.quantity]),
  );
  const items = await queryDatabase<{
    product_id: string;
    available: number;
    reserved: number;
    total: number;
  }>(
    options.inventoryDb,
    `SELECT product_id::text, available_quantity AS available, reserved_quantity AS reserved,
       total_quantity AS total FROM inventory WHERE product_id = ANY($1::uuid[])`,
    [options.productIds],
  );
  const problems: string[] = [];
  if (items.length !== options.productIds.length)
    problems.push(`${items.length} of ${options.productIds.length} items found`);
  for (const item of items) {
    const expected = options.initial - (sold.get(item.product_id) ?? 0);
    if (item.available + item.reserved !== item.total || item.reserved !== 0 || item.total !== expected) {
      problems.push(
        `${item.product_id}: available ${item.available} + reserved ${item.reserved} vs total ${item.total}, expected total ${expected}`,
      );
    }
  }
  return problems;
}
