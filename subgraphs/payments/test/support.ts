import { createPrismaAdapter } from '@shop/db';
import { createEvent, type EventData, type EventType, parseEnvelope } from '@shop/events';
import { codes, type GraphQLResponse, type TestSubgraph, useSubgraph, waitFor } from '@shop/testing';
import Stripe from 'stripe';
import { PrismaClient, subgraph } from '../src/subgraph';

export { codes };

export interface Customer {
  userId: string;
  email: string;
  token: string;
}

export type PaymentsHarness = TestSubgraph & {
  /** The test's own client of the subgraph's database, to inspect rows. */
  prisma: PrismaClient;
  adminToken: string;
  /** The customer side of Stripe: the real SDK, pointed at the same local server as the subgraph. */
  stripe: Stripe;
  /** The local Stripe server's base URL. */
  stripeUrl: string;
  customer: () => Promise<Customer>;
  /** Publishes an order or inventory event into the test's Kafka prefix, as its owner would. */
  publish: <T extends EventType>(type: T, data: EventData<T>) => Promise<string>;
  /** Every event of a type this subgraph published (from the outbox) for an order. */
  published: (type: EventType, orderId: string) => Promise<Record<string, unknown>[]>;
  /** Waits until the order's payment row satisfies `check`. */
  paymentOf: (
    orderId: string,
    check?: (payment: { status: string }) => boolean,
  ) => Promise<Awaited<ReturnType<PrismaClient['payment']['findUniqueOrThrow']>>>;
  /** Holds or releases the local server's webhooks. */
  pauseWebhooks: (paused: boolean) => Promise<void>;
  /** Every event the local Stripe server created, oldest first. */
  stripeEvents: () => Promise<Stripe.Event[]>;
  /** Posts a webhook to the subgraph, signed with `secret` (the right one by default) at `timestamp`. */
  postWebhook: (
    payload: string,
    options?: { secret?: string; timestamp?: number; signature?: string | null },
  ) => Promise<{ status: number; body: Record<string, unknown> }>;
};

/**
 * The real payments subgraph for a whole test file, with its own local Stripe server (its localServices),
 * database, Kafka prefix and test keys; webhooks from the local server reach its /webhooks/stripe.
 */
export function usePayments(): PaymentsHarness {
  return useSubgraph(subgraph, {
    extend: async (payments) => {
      if (!payments.database || !payments.kafka) throw new Error('payments uses postgres and kafka');
      const kafka = payments.kafka;
      const prisma = new PrismaClient({ adapter: createPrismaAdapter(payments.database.url) });
      const stripeUrl = payments.env.STRIPE_API_URL as string;
      const api = new URL(stripeUrl);
      const stripe = new Stripe(payments.env.STRIPE_SECRET_KEY as string, {
        host: api.hostname,
        port: api.port,
        protocol: 'http',
        maxNetworkRetries: 0,
      });
      const webhookSecret = payments.env.STRIPE_WEBHOOK_SECRET as string;
      const webhookUrl = new URL('/webhooks/stripe', payments.url).toString();
      const producer = await kafka.connection.producer();
      let customers = 0;
      return {
        prisma,
        stripe,
        stripeUrl,
        adminToken: await payments.keys.tokenFor('ADMIN'),
        customer: async () => {
          const userId = crypto.randomUUID();
          const email = `customer-${++customers}-${userId.slice(0, 8)}@example.com`;
          return { userId, email, token: await payments.keys.tokenFor({ userId, role: 'CUSTOMER', email }) };
        },
        publish: async (type, data) => {
          const event = createEvent(type, data, { source: type.split('.')[0] as string });
          await producer.send({
            topic: kafka.connection.topic(type),
            messages: [{ key: (data as { orderId: string }).orderId, value: JSON.stringify(event) }],
          });
          return event.id;
        },
        published: async (type, orderId) => {
          const rows = await prisma.$queryRaw<{ envelope: string }[]>`
            SELECT envelope::text AS envelope FROM outbox_events WHERE topic = ${type} ORDER BY sequence`;
          return rows
            .map((row) => parseEnvelope(row.envelope))
            .filter((event) => (event.data as { orderId?: string }).orderId === orderId)
            .map((event) => event.data as Record<string, unknown>);
        },
        paymentOf: (orderId, check = () => true) =>
          waitFor(`the payment of order ${orderId}`, async () => {
            const payment = await prisma.payment.findUnique({ where: { orderId } });
            return payment && check(payment) ? payment : undefined;
          }),
        pauseWebhooks: async (paused) => {
          await fetch(`${stripeUrl}/_local/webhooks`, { method: 'POST', body: JSON.stringify({ paused }) });
        },
        stripeEvents: async () =>
          ((await (await fetch(`${stripeUrl}/_local/events`)).json()) as { data: Stripe.Event[] }).data,
        postWebhook: async (payload, options = {}) => {
          const signature =
            options.signature !== undefined
              ? options.signature
              : stripe.webhooks.generateTestHeaderString({
                  payload,
                  secret: options.secret ?? webhookSecret,
                  ...(options.timestamp === undefined ? {} : { timestamp: options.timestamp }),
                });
          const response = await fetch(webhookUrl, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              ...(signature === null ? {} : { 'stripe-signature': signature }),
            },
            body: payload,
          });
          return { status: response.status, body: (await response.json()) as Record<string, unknown> };
        },
        stop: () => prisma.$disconnect(),
      };
    },
  });
}

export const PAYMENT_FIELDS = `id status amount { amount currency } capturedAmount { amount currency }
  refundedAmount { amount currency } failureReason order { id }
  statusHistory { from status source notes at } refunds { id amount { amount currency } reason status restock }`;

export interface PaymentJson {
  id: string;
  status: string;
  amount: { amount: string; currency: string };
  capturedAmount: { amount: string; currency: string };
  refundedAmount: { amount: string; currency: string };
  failureReason: string | null;
  order: { id: string };
  statusHistory: { from: string | null; status: string; source: string; notes: string | null; at: string }[];
  refunds: {
    id: string;
    amount: { amount: string };
    reason: string | null;
    status: string;
    restock: boolean;
  }[];
}

export const CREATE_INTENT = `mutation Pay($orderId: ID!, $key: String!) {
  createPaymentIntent(orderId: $orderId, idempotencyKey: $key) { clientSecret payment { ${PAYMENT_FIELDS} } }
}`;
export const CAPTURE = `mutation Capture($id: ID!) { capturePayment(paymentId: $id) { ${PAYMENT_FIELDS} } }`;
export const REFUND = `mutation Refund($id: ID!, $amount: Decimal, $reason: String, $restock: Boolean) {
  refundPayment(paymentId: $id, amount: $amount, reason: $reason, restock: $restock) { ${PAYMENT_FIELDS} }
}`;
export const BY_ORDER = `query ByOrder($orderId: ID!) { paymentByOrder(orderId: $orderId) { ${PAYMENT_FIELDS} } }`;

export type IntentResponse = GraphQLResponse<{
  createPaymentIntent: { clientSecret: string; payment: PaymentJson };
}>;

/** The PaymentIntent id inside a client secret (`pi_…_secret_…`). */
export function intentIdOf(clientSecret: string): string {
  return clientSecret.split('_secret_')[0] as string;
}
