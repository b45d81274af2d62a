import { randomUUID } from 'node:crypto';
import {
  AddCartItemDocument,
  CheckoutDocument,
  CreateInventoryDocument,
  CreateProductDocument,
  LoginDocument,
  MyOrdersDocument,
  RegisterDocument,
  type ShopClient,
} from '@shop/client';
import { queryDatabase, unpublishedOutboxRows, waitFor } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payOrder, stockEquationProblems } from './checkout-support';
import { type DrillStack, startDrillStack } from './drill-stack';
import { demo } from './supergraph';

// Fault drills (specification: "kill -9 each subgraph in turn during a checkout load, stop and restart Kafka,
// restart Redis"). Customers check out through the gateway while a fault is injected; afterwards, as a client
// would, they resume what they did not finish (pay the orders still PENDING), and the whole system is checked:
// every order settled (PAID or CANCELLED) and agreeing with its payment and its stock, the stock equation,
// nothing authorised twice, no email twice, every outbox drained. Each drill prints its counts.

const address = { street: '1 Drill St', city: 'Boston', state: 'MA', zipCode: '02101', country: 'US' };
const INITIAL_STOCK = 10_000;

interface Customer {
  email: string;
  client: ShopClient;
}

interface LoadCounts {
  attempts: number;
  placed: number;
  paid: number;
  failedRequests: Record<string, number>;
}

describe('fault drills: kill -9, Kafka and Redis restarts during checkouts', () => {
  let stack: DrillStack;
  let admin: ShopClient;
  const products: { id: string }[] = [];
  const customers: Customer[] = [];

  beforeAll(async () => {
    stack = await startDrillStack();
    const login = await stack.client.data(LoginDocument, demo.admin);
    admin = stack.client.as(login.login.accessToken);
    for (let i = 0; i < 3; i += 1) {
      const sku = `DRILL-${i}-${randomUUID().slice(0, 8)}`;
      const { createProduct } = await admin.data(CreateProductDocument, {
        input: { name: `Drill product ${i}`, sku, price: `${10 + i}.50` },
      });
      await admin.data(CreateInventoryDocument, {
        input: {
          productId: createProduct.id,
          sku: `${sku}-INV`,
          availableQuantity: INITIAL_STOCK,
          reorderLevel: 10,
          reorderQuantity: 10,
        },
      });
      products.push({ id: createProduct.id });
    }
    for (let i = 0; i < 4; i += 1) {
      const email = `drill-${i}-${randomUUID().slice(0, 8)}@example.com`;
      const password = `Drill-${randomUUID()}`;
      const { register } = await stack.client.data(RegisterDocument, {
        input: { email, password, name: `Drill customer ${i}` },
      });
      customers.push({ email, client: stack.client.as(register.accessToken) });
    }
  });

  afterAll(async () => {
    await stack?.stop();
  });

  /** Checkouts by every customer, in parallel, until `fault` has run and each did `atLeast`. */
  async function checkoutLoad(fault: () => Promise<void>, atLeast = 2): Promise<LoadCounts> {
    const counts: LoadCounts = { attempts: 0, placed: 0, paid: 0, failedRequests: {} };
    const fail = (step: string) => {
      counts.failedRequests[step] = (counts.failedRequests[step] ?? 0) + 1;
    };
    let faultDone = false;
    const faultRun = fault().finally(() => {
      faultDone = true;
    });
    await Promise.all(
      customers.map(async (customer, c) => {
        for (let round = 0; !faultDone || round < atLeast; round += 1) {
          counts.attempts += 1;
          const product = products[(c + round) % products.length] as { id: string };
          try {
            await customer.client.data(AddCartItemDocument, {
              productId: product.id,
              quantity: 1 + (round % 2),
            });
          } catch {
            fail('addCartItem');
            await new Promise((resolve) => setTimeout(resolve, 300));
            continue;
          }
          let orderId: string;
          try {
            const { checkout } = await customer.client.data(CheckoutDocument, {
              input: { shippingAddress: address },
            });
            orderId = checkout.id;
            counts.placed += 1;
          } catch {
            fail('checkout');
            await new Promise((resolve) => setTimeout(resolve, 300));
            continue;
          }
          try {
            await payOrder(stack, customer.client, orderId);
            counts.paid += 1;
          } catch {
            fail('pay');
          }
        }
      }),
    );
    await faultRun;
    return counts;
  }

  /** What a client does afterwards: pays every order of its own still PENDING, until none is. */
  async function resumeUnfinished(): Promise<number> {
    let resumed = 0;
    await waitFor(
      'every order settled (PAID or CANCELLED)',
      async () => {
        let pending = 0;
        for (const customer of customers) {
          const { myOrders } = await customer.client.data(MyOrdersDocument, { first: 100 });
          for (const { node } of myOrders.edges) {
            if (node.status !== 'PENDING') continue;
            pending += 1;
            resumed += 1;
            await payOrder(stack, customer.client, node.id).catch(() => {});
          }
        }
        return pending === 0;
      },
      { timeoutMs: 240_000, intervalMs: 2000 },
    );
    return resumed;
  }

  /** The whole system agrees with itself; prints the drill's counts. */
  async function checkInvariants(drill: string, load: LoadCounts): Promise<void> {
    const resumed = await resumeUnfinished();
    const databases = Object.values(stack.subgraphs).flatMap((s) => (s.database ? [s] : []));
    await waitFor(
      'every outbox drained',
      async () => {
        for (const s of databases)
          if ((await unpublishedOutboxRows(s.database?.url as string)) > 0) return false;
        return true;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    const ordersDb = stack.subgraphs.orders?.database?.url as string;
    const inventoryDb = stack.subgraphs.inventory?.database?.url as string;
    const paymentsDb = stack.subgraphs.payments?.database?.url as string;

    const orders = await queryDatabase<{ id: string; status: string; total: string }>(
      ordersDb,
      'SELECT id, status::text, total::text FROM orders',
    );
    const byStatus = (status: string) => orders.filter((o) => o.status === status).length;
    expect(orders.every((o) => o.status === 'PAID' || o.status === 'CANCELLED')).toBe(true);

    // Every PAID order has its payment AUTHORIZED for exactly its total, authorised once.
    const payments = await queryDatabase<{ order_id: string; status: string; amount: string; id: string }>(
      paymentsDb,
      'SELECT id, order_id, status::text, amount::text FROM payments',
    );
    const paymentOf = new Map(payments.map((p) => [p.order_id, p]));
    for (const order of orders.filter((o) => o.status === 'PAID')) {
      expect(paymentOf.get(order.id)).toMatchObject({ status: 'AUTHORIZED', amount: order.total });
    }
    const doubled = await queryDatabase<{ payment_id: string }>(
      paymentsDb,
      `SELECT payment_id FROM payment_status_history WHERE status = 'AUTHORIZED'
       GROUP BY payment_id HAVING count(*) > 1`,
    );
    expect(doubled).toEqual([]);

    // The stock equation, item by item: total = available + reserved, nothing left reserved once every order
    // settled, and what left the shelf is exactly what the PAID orders hold.
    expect(
      await stockEquationProblems({
        ordersDb,
        inventoryDb,
        productIds: products.map((p) => p.id),
        initial: INITIAL_STOCK,
      }),
    ).toEqual([]);

    // No email twice: each subject (they name the order) reaches a customer once; one confirmation per PAID order.
    const port = stack.subgraphs.notifications?.env.MAILBOX_HTTP_PORT;
    const paidOrders = byStatus('PAID');
    const mails = await waitFor(
      'a confirmation email per PAID order',
      async () => {
        const all = (await (await fetch(`http://127.0.0.1:${port}/api/messages`)).json()) as {
          to: string[];
          subject: string;
        }[];
        const mine = all.filter((m) => customers.some((c) => m.to.includes(c.email)));
        const confirmations = mine.filter((m) => /is confirmed/.test(m.subject)).length;
        return confirmations >= paidOrders ? mine : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    const keys = mails.map((m) => `${m.to.join()}|${m.subject}`);
    expect(keys.length - new Set(keys).size).toBe(0);
    expect(mails.filter((m) => /is confirmed/.test(m.subject))).toHaveLength(paidOrders);

    console.log(
      `[drill] ${drill}: ${load.attempts} checkout attempts, ${orders.length} orders in total (${paidOrders} PAID, ${byStatus('CANCELLED')} CANCELLED), ` +
        `this drill placed ${load.placed} and paid ${load.paid} at once, ${resumed} payments resumed afterwards, ` +
        `failed requests ${JSON.stringify(load.failedRequests)}, ${mails.length} emails, 0 doubled, outboxes drained, stock equation holds`,
    );
  }

  it('kill -9 each subgraph in turn during checkouts, then restart it', async () => {
    const load = await checkoutLoad(async () => {
      for (const name of Object.keys(stack.subgraphs)) {
        const subgraph = stack.subgraphs[name];
        if (!subgraph) continue;
        // Let checkouts run into it, then cut it wherever it is.
        await new Promise((resolve) => setTimeout(resolve, 1500));
        await subgraph.kill();
        await new Promise((resolve) => setTimeout(resolve, 500));
        await subgraph.start();
      }
    });
    await checkInvariants('kill -9 each subgraph', load);
  });

  it('stop and restart Kafka mid-flow', async () => {
    const load = await checkoutLoad(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await stack.broker.stop();
      await new Promise((resolve) => setTimeout(resolve, 3000));
      await stack.broker.start();
    });
    await checkInvariants('Kafka stopped and restarted', load);
  });

  it('restart Redis mid-flow', async () => {
    const load = await checkoutLoad(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await stack.redis.stop();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await stack.redis.start();
    });
    await checkInvariants('Redis killed and restarted', load);
  });
});
