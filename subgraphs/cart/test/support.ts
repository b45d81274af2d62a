import { createEvent, type EventData } from '@shop/events';
import {
  codes,
  createProduct,
  createTestKafka,
  createTestKeys,
  createTestRedis,
  type GraphQLResponse,
  startTestSubgraph,
  type TestKafka,
  type TestKeys,
  type TestRedis,
  type TestSubgraph,
} from '@shop/testing';
import { afterAll, beforeAll } from 'vitest';
import { subgraph as productsSubgraph } from '../../products/src/subgraph';
import { subgraph as cartSubgraph } from '../src/subgraph';

export { codes };

/** The fields of a cart every test reads. */
export const CART_FIELDS = `id guest currency itemCount expiresAt pricesCurrent
  subtotal { amount currency }
  items { product { id } quantity unitPrice { amount currency } lineTotal { amount currency }
    priceWhenAdded { amount currency } priceChanged available addedAt }`;

export const CART = `query Cart($guestCartId: ID) { cart(guestCartId: $guestCartId) { ${CART_FIELDS} } }`;
export const ADD = `mutation Add($productId: ID!, $quantity: Int!, $guestCartId: ID) {
  addCartItem(productId: $productId, quantity: $quantity, guestCartId: $guestCartId) { ${CART_FIELDS} } }`;
export const UPDATE = `mutation Update($productId: ID!, $quantity: Int!, $guestCartId: ID) {
  updateCartItem(productId: $productId, quantity: $quantity, guestCartId: $guestCartId) { ${CART_FIELDS} } }`;
export const REMOVE = `mutation Remove($productId: ID!, $guestCartId: ID) {
  removeCartItem(productId: $productId, guestCartId: $guestCartId) { ${CART_FIELDS} } }`;
export const CLEAR = `mutation Clear($guestCartId: ID) { clearCart(guestCartId: $guestCartId) { ${CART_FIELDS} } }`;
export const MERGE = `mutation Merge($guestCartId: ID!) { mergeGuestCart(guestCartId: $guestCartId) { ${CART_FIELDS} } }`;

export interface CartJson {
  id: string;
  guest: boolean;
  currency: string;
  itemCount: number;
  expiresAt: string | null;
  pricesCurrent: boolean;
  subtotal: { amount: string; currency: string };
  items: {
    product: { id: string };
    quantity: number;
    unitPrice: { amount: string; currency: string };
    lineTotal: { amount: string; currency: string };
    priceWhenAdded: { amount: string; currency: string };
    priceChanged: boolean;
    available: boolean;
    addedAt: string;
  }[];
}

export interface CartHarness {
  products: TestSubgraph;
  /** Cart subgraphs by label (one per settings variant asked for). */
  carts: Record<string, TestSubgraph>;
  keys: TestKeys;
  kafka: TestKafka;
  /** A client with the same key prefix as the subgraphs: the test reads and changes their keys. */
  redis: TestRedis;
  adminToken: string;
  /** A token for a new customer (a fresh user id each call). */
  customer: () => Promise<{ token: string; userId: string }>;
  product: (input?: { price?: string }) => Promise<{ id: string; sku: string }>;
  /** Deactivates or re-prices a product as an admin. */
  updateProduct: (id: string, input: { price?: string; active?: boolean }) => Promise<void>;
  /** Publishes an event as its producer would (through Kafka, to the test's prefixed topic). */
  publish: <T extends 'order.placed' | 'product.changed'>(type: T, data: EventData<T>) => Promise<string>;
  stop: () => Promise<void>;
}

/**
 * The real products subgraph plus one cart subgraph per entry of `variants` (settings on top of `base`), all
 * sharing keys, Kafka and Redis prefixes, as `startTestSubgraphs` starts them: products first, and each cart
 * told PRODUCTS_URL.
 */
export async function startCartHarness(
  variants: Record<string, Record<string, string>> = { main: {} },
): Promise<CartHarness> {
  const keys = await createTestKeys();
  const [kafka, redis] = await Promise.all([createTestKafka(), createTestRedis()]);
  const started: TestSubgraph[] = [];
  const stop = async () => {
    for (const subgraph of started.reverse()) await subgraph.stop().catch(() => {});
    await Promise.all([kafka.cleanup(), redis.cleanup()]);
  };
  try {
    const products = await startTestSubgraph(productsSubgraph, { keys, kafka, redis });
    started.push(products);
    const carts: Record<string, TestSubgraph> = {};
    for (const [label, env] of Object.entries(variants)) {
      carts[label] = await startTestSubgraph(cartSubgraph, {
        keys,
        kafka,
        redis,
        env: { PRODUCTS_URL: products.url, ...env },
      });
      started.push(carts[label]);
    }
    const adminToken = await keys.tokenFor('ADMIN');
    return {
      products,
      carts,
      keys,
      kafka,
      redis,
      adminToken,
      customer: async () => {
        const userId = crypto.randomUUID();
        const token = await keys.tokenFor({ userId, role: 'CUSTOMER', email: `${userId}@example.com` });
        return { token, userId };
      },
      product: async (input = {}) => createProduct(products.url, adminToken, input),
      updateProduct: async (id, input) => {
        const response = await products.graphql(
          'mutation U($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { id } }',
          { id, input },
          adminToken,
        );
        if (response.errors) throw new Error(JSON.stringify(response.errors));
      },
      publish: async (type, data) => {
        const event = createEvent(type, data, { source: type === 'order.placed' ? 'orders' : 'products' });
        const producer = await kafka.connection.producer();
        await producer.send({
          topic: kafka.connection.topic(type),
          messages: [
            { key: 'orderId' in data ? data.orderId : data.productId, value: JSON.stringify(event) },
          ],
        });
        return event.id;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** startCartHarness for a whole test file: started in beforeAll, stopped in afterAll. */
export function useCartHarness(variants?: Record<string, Record<string, string>>): CartHarness {
  let harness: CartHarness | undefined;
  beforeAll(async () => {
    harness = await startCartHarness(variants);
  });
  afterAll(async () => {
    await harness?.stop();
  });
  return new Proxy({} as CartHarness, {
    get: (_, property) => {
      if (!harness) throw new Error('the cart harness starts in beforeAll; use it inside tests');
      return Reflect.get(harness, property);
    },
  });
}

/** The cart of a response, or a thrown error with the response's errors. */
export function cartOf<K extends string>(response: GraphQLResponse<Record<K, CartJson>>, field: K): CartJson {
  const cart = response.data?.[field];
  if (!cart) throw new Error(`no ${field}: ${JSON.stringify(response.errors)}`);
  return cart;
}
