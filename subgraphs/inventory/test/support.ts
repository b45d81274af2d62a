import { randomUUID } from 'node:crypto';
import { createPrismaAdapter } from '@shop/db';
import { type AnyEventEnvelope, createEvent, type EventData, type EventType, eventKeyOf } from '@shop/events';
import {
  type CreatedProduct,
  codes,
  createProduct,
  type GraphQLResponse,
  type TestSubgraph,
  type TestSubgraphOptions,
  useSubgraph,
} from '@shop/testing';
import { subgraph as productsSubgraph } from '../../products/src/subgraph';
import { PrismaClient, subgraph } from '../src/subgraph';

export { codes as errorCodes };

type Caller = 'admin' | 'customer' | 'anonymous';

export type InventoryHarness = TestSubgraph & {
  /** The test's own client of the subgraph's database, to arrange and inspect rows. */
  prisma: PrismaClient;
  adminToken: string;
  customerToken: string;
  post: <D = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    as?: Caller,
  ) => Promise<GraphQLResponse<D>>;
  /** Publishes events into the subgraph's Kafka prefix, as their producers would (all in one send). */
  publish: (...events: AnyEventEnvelope[]) => Promise<void>;
  /** The real products subgraph inventory checks products with (PRODUCTS_URL), sharing its keys. */
  products: TestSubgraph;
  /** Creates a product through the products subgraph as an admin; `active: false` leaves it unpublished. */
  createProduct: (input?: { active?: boolean }) => Promise<CreatedProduct>;
  /** Creates an inventory item through the API (as an admin), for a new product unless given a productId. */
  createItem: (input?: Partial<ItemInput>) => Promise<ItemJson>;
  /** The events the subgraph wrote to its outbox (what it publishes), oldest first. */
  published: <T extends EventType>(type: T) => Promise<EventData<T>[]>;
};

export interface ItemInput {
  productId: string;
  sku: string;
  availableQuantity: number;
  reorderLevel: number;
  reorderQuantity: number;
}

export const ITEM_FIELDS =
  'id sku availableQuantity reservedQuantity totalQuantity reorderLevel reorderQuantity lowStock product { id }';

export interface ItemJson {
  id: string;
  sku: string;
  availableQuantity: number;
  reservedQuantity: number;
  totalQuantity: number;
  reorderLevel: number;
  reorderQuantity: number;
  lowStock: boolean;
  product: { id: string };
}

const CREATE = `mutation C($input: CreateInventoryInput!) { createInventory(input: $input) { ${ITEM_FIELDS} } }`;

/** An event as its producer would create it. */
export function event<T extends EventType>(type: T, data: EventData<T>, source = 'orders'): AnyEventEnvelope {
  return createEvent(type, data, { source }) as AnyEventEnvelope;
}

export function uniqueSku(): string {
  return `INV-${randomUUID().slice(0, 8).toUpperCase()}`;
}

/**
 * The real inventory subgraph for a whole test file, launched as production launches it (consumers, relay,
 * feeds, expiry job), over its own database and Kafka prefix, with the real products subgraph (one per file)
 * it checks new items' products with.
 */
export function useInventory(options: Omit<TestSubgraphOptions, 'keys'> = {}): InventoryHarness {
  const products = useSubgraph(productsSubgraph);
  // Getters: read when inventory starts, after products has (beforeAll hooks run in the order registered).
  return useSubgraph(subgraph, {
    ...options,
    get keys() {
      return products.keys;
    },
    get env() {
      return { PRODUCTS_URL: products.url, ...options.env };
    },
    extend: async (inventory) => {
      if (!inventory.database || !inventory.kafka) throw new Error('inventory uses postgres and kafka');
      const kafka = inventory.kafka;
      const prisma = new PrismaClient({ adapter: createPrismaAdapter(inventory.database.url) });
      const [adminToken, customerToken] = await Promise.all([
        inventory.keys.tokenFor('ADMIN'),
        inventory.keys.tokenFor('CUSTOMER'),
      ]);
      const tokens: Record<Caller, string | undefined> = {
        admin: adminToken,
        customer: customerToken,
        anonymous: undefined,
      };
      const post = <D = Record<string, unknown>>(
        query: string,
        variables: Record<string, unknown> = {},
        as: Caller = 'anonymous',
      ) => inventory.graphql<D>(query, variables, tokens[as]);
      const newProduct = async (input: { active?: boolean } = {}) => {
        const product = await createProduct(products.url, adminToken);
        if (input.active === false) {
          const response = await products.graphql(
            'mutation U($id: ID!) { updateProduct(id: $id, input: { active: false }) { id } }',
            { id: product.id },
            adminToken,
          );
          if (response.errors) throw new Error(`updateProduct failed: ${JSON.stringify(response.errors)}`);
        }
        return { ...product, active: input.active ?? product.active };
      };
      return {
        prisma,
        adminToken,
        customerToken,
        post,
        products,
        createProduct: newProduct,
        publish: async (...events: AnyEventEnvelope[]) => {
          const producer = await kafka.connection.producer();
          const byTopic = new Map<string, AnyEventEnvelope[]>();
          for (const e of events) byTopic.set(e.type, [...(byTopic.get(e.type) ?? []), e]);
          await producer.sendBatch({
            topicMessages: [...byTopic].map(([type, list]) => ({
              topic: kafka.connection.topic(type),
              messages: list.map((e) => ({
                key: eventKeyOf(e.type, e.data as never),
                value: JSON.stringify(e),
              })),
            })),
          });
        },
        createItem: async (input: Partial<ItemInput> = {}) => {
          const response = await post<{ createInventory: ItemJson }>(
            CREATE,
            {
              input: {
                productId: input.productId ?? (await newProduct()).id,
                sku: uniqueSku(),
                availableQuantity: 100,
                reorderLevel: 10,
                reorderQuantity: 50,
                ...input,
              },
            },
            'admin',
          );
          if (!response.data?.createInventory) {
            throw new Error(`createInventory failed: ${JSON.stringify(response.errors)}`);
          }
          return response.data.createInventory;
        },
        published: async <T extends EventType>(type: T) => {
          const rows = await prisma.outboxEvent.findMany({
            where: { topic: type },
            orderBy: { sequence: 'asc' },
          });
          return rows.map((row) => (row.envelope as unknown as { data: EventData<T> }).data);
        },
        stop: () => prisma.$disconnect(),
      };
    },
  });
}

/**
 * The invariants, checked on every item of the database: no negative quantity, total = available + reserved,
 * reserved = the sum of ACTIVE reservations, and the audit trail explains the total (its deltas add up to it).
 */
export async function invariantViolations(prisma: PrismaClient): Promise<unknown[]> {
  return prisma.$queryRaw<unknown[]>`
    SELECT i.id, i.available_quantity, i.reserved_quantity, i.total_quantity
    FROM inventory i
    WHERE i.available_quantity < 0 OR i.reserved_quantity < 0
       OR i.total_quantity <> i.available_quantity + i.reserved_quantity
       OR i.reserved_quantity <> COALESCE((SELECT sum(r.quantity) FROM stock_reservations r
                                           WHERE r.inventory_id = i.id AND r.status = 'ACTIVE'), 0)
       OR i.total_quantity <> COALESCE((SELECT sum(t.quantity) FROM stock_transactions t
                                        WHERE t.inventory_id = i.id AND t.type NOT IN ('RESERVATION', 'RELEASE')), 0)`;
}
