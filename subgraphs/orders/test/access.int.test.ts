import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type Caller, codes, type OrderJson, placeOrder, useOrders } from './support';

// Users see only their own orders; admins see all. Lists are Relay connections.

const harness = useOrders();

const ORDER = 'query O($id: ID!) { order(id: $id) { id status user { id } } }';
const MY_ORDERS = `query M($first: Int, $after: String) {
  myOrders(first: $first, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage endCursor } totalCount }
}`;
const ORDERS = `query A($status: OrderStatus, $first: Int, $after: String) {
  orders(status: $status, first: $first, after: $after) { edges { node { id status } } pageInfo { hasNextPage endCursor } totalCount }
}`;
const USER_ORDERS = `query E($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on User { id orders(first: 10) { edges { node { id } } totalCount } } }
}`;
const ORDER_ENTITY = `query E($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Order { id status } }
}`;

interface Page {
  edges: { cursor: string; node: { id: string; status?: string } }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage?: boolean; endCursor: string | null };
  totalCount: number;
}

async function ordersFor(customer: Caller, count: number): Promise<OrderJson[]> {
  const product = await harness.product('3.00');
  const placed: OrderJson[] = [];
  for (let i = 0; i < count; i++) {
    placed.push(await placeOrder(harness, customer, [{ productId: product.id, quantity: i + 1 }]));
  }
  return placed;
}

describe('who sees which orders', () => {
  it('shows an order to its owner and admins; NOT_FOUND for another customer, as for no order', async () => {
    const owner = await harness.customer();
    const stranger = await harness.customer();
    const [order] = await ordersFor(owner, 1);
    if (!order) throw new Error('no order');

    expect((await harness.post(ORDER, { id: order.id }, owner)).data).toEqual({
      order: { id: order.id, status: 'PENDING', user: { id: owner.viewer.userId } },
    });
    expect((await harness.post(ORDER, { id: order.id }, harness.admin)).data).toMatchObject({
      order: { id: order.id },
    });
    const foreign = await harness.post(ORDER, { id: order.id }, stranger);
    const missing = await harness.post(ORDER, { id: randomUUID() }, stranger);
    expect(codes(foreign)).toEqual(['NOT_FOUND']);
    expect(codes(missing)).toEqual(['NOT_FOUND']);
    expect(codes(await harness.post(ORDER, { id: order.id }))).toEqual(['UNAUTHENTICATED']);
    // Nor may the stranger cancel it.
    const cancel = await harness.post(
      'mutation C($id: ID!) { cancelOrder(id: $id) { id } }',
      { id: order.id },
      stranger,
    );
    expect(codes(cancel)).toEqual(['NOT_FOUND']);
    expect((await harness.prisma.order.findUnique({ where: { id: order.id } }))?.status).toBe('PENDING');
  });

  it('resolves Order references only for the owner or an admin', async () => {
    const owner = await harness.customer();
    const stranger = await harness.customer();
    const [order] = await ordersFor(owner, 1);
    const representations = [{ __typename: 'Order', id: order?.id }];
    expect((await harness.post(ORDER_ENTITY, { representations }, owner)).data).toEqual({
      _entities: [{ id: order?.id, status: 'PENDING' }],
    });
    expect((await harness.post(ORDER_ENTITY, { representations }, stranger)).data).toEqual({
      _entities: [null],
    });
    expect((await harness.post(ORDER_ENTITY, { representations })).data).toEqual({ _entities: [null] });
  });

  it('pages myOrders newest first through the caller’s own orders only', async () => {
    const customer = await harness.customer();
    const other = await harness.customer();
    const mine = await ordersFor(customer, 5);
    await ordersFor(other, 2);

    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const response: { data?: { myOrders: Page } | null; errors?: unknown } = await harness.post<{
        myOrders: Page;
      }>(MY_ORDERS, { first: 2, after }, customer);
      expect(response.errors).toBeUndefined();
      const page: Page | undefined = response.data?.myOrders;
      if (!page) throw new Error('no page');
      expect(page.totalCount).toBe(5);
      expect(page.pageInfo.hasPreviousPage).toBe(after !== null);
      seen.push(...page.edges.map((edge) => edge.node.id));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      pages++;
    } while (after);
    expect(pages).toBe(3);
    expect(seen).toEqual(mine.map((order) => order.id).reverse());

    expect(codes(await harness.post(MY_ORDERS, { first: 0 }, customer))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await harness.post(MY_ORDERS, { after: 'garbage' }, customer))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await harness.post(MY_ORDERS, {}))).toEqual(['UNAUTHENTICATED']);
  });

  it('keeps the list of every order for admins, filtered by status', async () => {
    const customer = await harness.customer();
    const [a, b] = await ordersFor(customer, 2);
    if (!a || !b) throw new Error('no orders');
    await harness.post('mutation C($id: ID!) { cancelOrder(id: $id) { id } }', { id: a.id }, customer);

    expect(codes(await harness.post(ORDERS, {}, customer))).toEqual(['FORBIDDEN']);
    const cancelled = await harness.post<{ orders: Page }>(
      ORDERS,
      { status: 'CANCELLED', first: 100 },
      harness.admin,
    );
    expect(cancelled.errors).toBeUndefined();
    const ids = cancelled.data?.orders.edges.map((edge) => edge.node.id) ?? [];
    expect(ids).toContain(a.id);
    expect(ids).not.toContain(b.id);
    expect(cancelled.data?.orders.edges.every((edge) => edge.node.status === 'CANCELLED')).toBe(true);
    const all = await harness.post<{ orders: Page }>(ORDERS, { first: 1 }, harness.admin);
    expect(all.data?.orders.pageInfo.hasNextPage).toBe(true);
    expect(all.data?.orders.totalCount).toBeGreaterThanOrEqual(2);
  });

  it('adds User.orders for the user themselves or an admin; FORBIDDEN for anyone else', async () => {
    const customer = await harness.customer();
    const stranger = await harness.customer();
    const mine = await ordersFor(customer, 2);
    const representations = [{ __typename: 'User', id: customer.viewer.userId }];

    const own = await harness.post<{ _entities: { orders: Page }[] }>(
      USER_ORDERS,
      { representations },
      customer,
    );
    expect(own.errors).toBeUndefined();
    expect(own.data?._entities[0]?.orders.totalCount).toBe(2);
    expect(own.data?._entities[0]?.orders.edges.map((edge) => edge.node.id)).toEqual(
      mine.map((order) => order.id).reverse(),
    );
    const admin = await harness.post<{ _entities: { orders: Page }[] }>(
      USER_ORDERS,
      { representations },
      harness.admin,
    );
    expect(admin.data?._entities[0]?.orders.totalCount).toBe(2);
    expect(codes(await harness.post(USER_ORDERS, { representations }, stranger))).toEqual(['FORBIDDEN']);
  });
});
