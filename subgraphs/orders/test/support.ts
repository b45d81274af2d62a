import { randomUUID } from 'node:crypto';
import { createPrismaAdapter } from '@shop/db';
import { createEvent, type EventData, type EventType, parseEnvelope } from '@shop/events';
import { loadSubgraphs } from '@shop/infra';
import { createGraphQLWsClient, type Viewer, WebSocket } from '@shop/kit';
import {
  codes,
  createProduct,
  createTestKafka,
  createTestKeys,
  type GraphQLResponse,
  startTestSubgraph,
  type TestKafka,
  type TestKeys,
  type TestSubgraph,
  type TopicReader,
  uniqueEmail,
  waitFor,
} from '@shop/testing';
import { afterAll, beforeAll } from 'vitest';
import { PrismaClient, subgraph } from '../src/subgraph';

export { codes };

/** A signed-in caller for tests: the token and who it proves. */
export interface Caller {
  token: string;
  viewer: Viewer;
}

export interface OrdersHarness {
  orders: TestSubgraph;
  /** The real products subgraph orders price from (PRODUCTS_URL). */
  products: TestSubgraph;
  kafka: TestKafka;
  keys: TestKeys;
  /** The test's own client of the orders database, to inspect rows. */
  prisma: PrismaClient;
  admin: Caller;
  /** A new customer with an email and a name in their token. */
  customer: (name?: string) => Promise<Caller>;
  /** One GraphQL operation against the orders subgraph. */
  post: <D = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    caller?: Caller,
  ) => Promise<GraphQLResponse<D>>;
  /** An active product at this price, created through the products subgraph. */
  product: (price?: string) => Promise<{ id: string; sku: string; name: string; price: string }>;
  /**
   * Publishes an event as inventory or payments would, to the orders' consumers; `times` > 1 sends the very
   * same envelope again (a redelivery). Resolves to the event id.
   */
  publish: <T extends EventType>(type: T, data: EventData<T>, times?: number) => Promise<string>;
  /** Reads a topic of this test's Kafka prefix from its start. */
  readTopic: (type: EventType) => Promise<TopicReader>;
}

const ADDRESS = { street: '1 Main St', city: 'Springfield', state: 'IL', zipCode: '62701', country: 'us' };
export const address = () => ({ ...ADDRESS });

export const ORDER_FIELDS = `id status user { id }
  items { product { id } sku name quantity unitPrice { amount currency } lineTotal { amount currency } }
  total { amount currency } shippingAddress { street city state zipCode country }
  cancellationReason stockReserved paymentAuthorized paymentCaptured refundedAmount { amount }
  statusHistory { from to reason source at } createdAt updatedAt`;

export const PLACE_ORDER = `mutation PlaceOrder($input: PlaceOrderInput!) { placeOrder(input: $input) { ${ORDER_FIELDS} } }`;

export interface OrderJson {
  id: string;
  status: string;
  user: { id: string };
  items: {
    product: { id: string };
    sku: string;
    name: string;
    quantity: number;
    unitPrice: { amount: string; currency: string };
    lineTotal: { amount: string; currency: string };
  }[];
  total: { amount: string; currency: string };
  shippingAddress: Record<string, string>;
  cancellationReason: string | null;
  stockReserved: boolean;
  paymentAuthorized: boolean;
  paymentCaptured: boolean;
  refundedAmount: { amount: string };
  statusHistory: { from: string | null; to: string; reason: string | null; source: string; at: string }[];
  createdAt: string;
}

/**
 * The real orders subgraph for a whole test file, with the real products subgraph it prices from: both
 * launched as production launches them, sharing one key pair and one Kafka prefix, each over its own
 * database.
 */
export function useOrders(options: { env?: Record<string, string> } = {}): OrdersHarness {
  let harness: OrdersHarness | undefined;
  let stop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const keys = await createTestKeys();
    const kafka = await createTestKafka();
    const productsDefinition = (await loadSubgraphs()).find((s) => s.name === 'products');
    if (!productsDefinition) throw new Error('products is not registered');
    const products = await startTestSubgraph(productsDefinition, { keys, kafka });
    const orders = await startTestSubgraph(subgraph, {
      keys,
      kafka,
      env: { PRODUCTS_URL: products.url, ...options.env },
    });
    if (!orders.database) throw new Error('orders uses postgres');
    const prisma = new PrismaClient({ adapter: createPrismaAdapter(orders.database.url) });
    const callerFor = async (viewer: Viewer): Promise<Caller> => ({
      token: await keys.tokenFor(viewer),
      viewer,
    });
    const admin = await callerFor({ userId: randomUUID(), role: 'ADMIN', email: uniqueEmail('admin') });
    const producer = await kafka.connection.producer();
    harness = {
      orders,
      products,
      kafka,
      keys,
      prisma,
      admin,
      customer: (name = 'Ada Customer') =>
        callerFor({ userId: randomUUID(), role: 'CUSTOMER', email: uniqueEmail('customer'), name }),
      post: (query, variables = {}, caller) => orders.graphql(query, variables, caller?.token),
      product: async (price = '10.00') => {
        const created = await createProduct(products.url, admin.token, { price });
        return { id: created.id, sku: created.sku, name: created.name, price: created.price.amount };
      },
      publish: async (type, data, times = 1) => {
        const source = type.startsWith('payment.') ? 'payments' : 'inventory';
        const event = createEvent(type, data, { source });
        const message = { key: (data as { orderId: string }).orderId, value: JSON.stringify(event) };
        await producer.send({
          topic: kafka.connection.topic(type),
          messages: Array.from({ length: times }, () => message),
        });
        return event.id;
      },
      readTopic: (type) => kafka.readTopic(kafka.connection.topic(type)),
    };
    stop = async () => {
      await prisma.$disconnect();
      await orders.stop();
      await products.stop();
      await kafka.cleanup();
    };
  });
  afterAll(async () => {
    await stop?.();
  });
  return new Proxy({} as OrdersHarness, {
    get: (_, property) => {
      if (!harness) throw new Error('useOrders(): it starts in beforeAll; use it inside tests');
      return Reflect.get(harness, property);
    },
  });
}

/** Places an order (fails the test on any error). */
export async function placeOrder(
  harness: OrdersHarness,
  caller: Caller,
  items: { productId: string; quantity: number }[],
): Promise<OrderJson> {
  const response = await harness.post<{ placeOrder: OrderJson }>(
    PLACE_ORDER,
    { input: { items, shippingAddress: address() } },
    caller,
  );
  if (!response.data?.placeOrder) throw new Error(`placeOrder failed: ${JSON.stringify(response.errors)}`);
  return response.data.placeOrder;
}

/** The events of one order on a topic read with `readTopic`. */
export function eventsOf(reader: TopicReader, orderId: string) {
  return reader.messages
    .map((message) => parseEnvelope(message.value))
    .filter((event) => (event.data as { orderId?: string }).orderId === orderId);
}

/** Resolves once the orders consumer group has handled (or skipped as a duplicate) this event. */
export async function processed(harness: OrdersHarness, eventId: string): Promise<void> {
  await waitFor(`event ${eventId} processed`, async () => {
    const rows = await harness.prisma.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM processed_events WHERE event_id = ${eventId}::uuid`;
    return (rows[0]?.n ?? 0) > 0;
  });
}

/** The order's history rows as "from>to:reason@source", oldest first. */
export async function historyOf(harness: OrdersHarness, orderId: string): Promise<string[]> {
  const rows = await harness.prisma.orderStatusHistory.findMany({
    where: { orderId },
    orderBy: { seq: 'asc' },
  });
  return rows.map((row) => `${row.fromStatus ?? '-'}>${row.toStatus}:${row.reason ?? ''}@${row.source}`);
}

/** How many events the outbox holds (published or not). */
export async function outboxCount(prisma: PrismaClient): Promise<number> {
  const rows = await prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM outbox_events`;
  return rows[0]?.n ?? 0;
}

/** A graphql-ws client (the kit's) of a subgraph, with `caller`'s token in connectionParams. */
export function wsClient(url: string, caller: Caller | undefined) {
  return createGraphQLWsClient({
    url,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: caller ? { authorization: `Bearer ${caller.token}` } : {},
  });
}
