import { graphqlData, waitFor } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { address } from './checkout-support';
import { demo, startTestSupergraph, type TestSupergraph } from './supergraph';

// N+1 through the whole supergraph: the deepest query the supergraph allows (a customer's orders → items →
// product → inventory, each order's payment and customer) sends each subgraph a fixed number of SQL
// statements, one per entity batch, whether the page holds one order or five orders of four lines each.

const LOGIN = `mutation L($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }`;
const PRODUCTS = 'query { products(first: 4) { edges { node { id } } } }';
const PLACE = 'mutation P($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }';
const SETTLED = 'query S($id: ID!) { order(id: $id) { stockReserved } paymentByOrder(orderId: $id) { id } }';
const DEEP = `query Deep {
  myOrders(first: 10) {
    edges { node {
      id status total { amount }
      user { id email }
      items { quantity product { id name price { amount } inventory { availableQuantity reservedQuantity } } }
      payment { status amount { amount } }
    } }
  }
}`;

const measured = ['users', 'products', 'orders', 'inventory', 'payments'] as const;

describe('entity batching through the gateway (N+1)', () => {
  let supergraph: TestSupergraph;
  let token: string;
  let productIds: string[];

  beforeAll(async () => {
    supergraph = await startTestSupergraph({
      only: ['users', 'products', 'orders', 'inventory', 'payments'],
    });
    token = (await send<{ login: { accessToken: string } }>(LOGIN, demo.customer)).login.accessToken;
    productIds = (
      await send<{ products: { edges: { node: { id: string } }[] } }>(PRODUCTS)
    ).products.edges.map((edge) => edge.node.id);
    expect(productIds).toHaveLength(4);
  });

  afterAll(async () => {
    await supergraph?.stop();
  });

  const send = <D>(query: string, variables: Record<string, unknown> = {}) =>
    graphqlData<D>(supergraph.gateway.url, query, variables, token);

  async function placeOrder(lines: number): Promise<void> {
    const items = productIds.slice(0, lines).map((productId) => ({ productId, quantity: 1 }));
    const { placeOrder } = await send<{ placeOrder: { id: string } }>(PLACE, {
      input: { items, shippingAddress: address },
    });
    // Payments and inventory react to order.placed, and orders to their answers: wait until all of that has
    // happened, so that only the deep query's statements are counted.
    await waitFor('the order reserved and its payment created', async () => {
      const settled = await send<{ order: { stockReserved: boolean }; paymentByOrder: unknown }>(SETTLED, {
        id: placeOrder.id,
      });
      return settled.order.stockReserved && settled.paymentByOrder !== null;
    });
  }

  /** Runs the deep query once and counts the SQL statements each subgraph sent for it. */
  async function statementsForDeepQuery(): Promise<{ orders: number; counts: Record<string, number> }> {
    const sqlOf = (name: string) => {
      const subgraph = supergraph.subgraphs[name];
      if (!subgraph) throw new Error(`${name} is not running`);
      return subgraph.sql;
    };
    for (const name of measured) sqlOf(name).length = 0;
    const data = await send<{
      myOrders: { edges: { node: { items: { product: { inventory: unknown } }[]; payment: unknown } }[] };
    }>(DEEP);
    // Every entity the batches should have resolved is there (a batch that silently failed would be cheap too).
    for (const { node } of data.myOrders.edges) {
      expect(node.payment).not.toBeNull();
      for (const item of node.items) expect(item.product.inventory).not.toBeNull();
    }
    const counts = Object.fromEntries(measured.map((name) => [name, sqlOf(name).length]));
    return { orders: data.myOrders.edges.length, counts };
  }

  it('sends the same statements for one order of one line as for five orders of four lines', async () => {
    await placeOrder(1);
    const one = await statementsForDeepQuery();
    expect(one.orders).toBe(1);

    for (let i = 0; i < 4; i += 1) await placeOrder(4);
    const five = await statementsForDeepQuery();
    expect(five.orders).toBe(5);

    console.log(
      `SQL statements for the deep query: 1 order × 1 line ${JSON.stringify(one.counts)}; 5 orders × up to 4 lines ${JSON.stringify(five.counts)}`,
    );
    expect(five.counts).toEqual(one.counts);
    // One batch each for the entities other subgraphs reference (customers, products, inventory, payments);
    // orders reads the page of orders and then all of their lines at once.
    expect(five.counts).toEqual({ users: 1, products: 1, orders: 2, inventory: 1, payments: 1 });
  });
});
