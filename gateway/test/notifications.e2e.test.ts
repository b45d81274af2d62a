import { randomUUID } from 'node:crypto';
import {
  AllNotificationsDocument,
  LoginDocument,
  MyNotificationsDocument,
  NotificationDocument,
  RetryNotificationDocument,
} from '@shop/client';
import { sampleOrderPlaced, waitFor } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demo, startTestSupergraph, type TestSupergraph } from './supergraph';

const codes = (result: { errors?: readonly { extensions?: Record<string, unknown> }[] | undefined }) =>
  result.errors?.map((e) => e.extensions?.code);

describe('notifications through the gateway', () => {
  let supergraph: TestSupergraph;

  beforeAll(async () => {
    supergraph = await startTestSupergraph({ only: ['users', 'notifications'] });
  });

  afterAll(async () => {
    await supergraph?.stop();
  });

  /** Publishes an order.placed as the orders subgraph would, on the supergraph's shared Kafka prefix. */
  async function orderPlaced(userId: string, userEmail: string) {
    const notifications = supergraph.subgraphs.notifications;
    const connection = notifications?.kafka?.connection;
    if (!connection) throw new Error('notifications uses kafka');
    const data = sampleOrderPlaced({ userId, userEmail });
    // The envelope of ARCHITECTURE.md (this package does not depend on @shop/events), keyed by the order.
    const event = {
      id: randomUUID(),
      type: 'order.placed',
      version: 1,
      occurredAt: new Date().toISOString(),
      source: 'orders',
      correlationId: randomUUID(),
      data,
    };
    const producer = await connection.producer();
    await producer.send({
      topic: connection.topic('order.placed'),
      messages: [{ key: data.orderId, value: JSON.stringify(event) }],
    });
    return event;
  }

  it('a customer reads their own notifications; an admin reads everyone’s; a customer cannot retry', async () => {
    const { client } = supergraph;
    const customer = await client.data(LoginDocument, demo.customer);
    const admin = await client.data(LoginDocument, demo.admin);
    const me = client.as(customer.login.accessToken);
    const boss = client.as(admin.login.accessToken);

    await orderPlaced(customer.login.user.id, customer.login.user.email);
    await orderPlaced(admin.login.user.id, admin.login.user.email);

    const mine = await waitFor('the customer’s confirmation SENT', async () => {
      const { myNotifications } = await me.data(MyNotificationsDocument, { first: 10 });
      const node = myNotifications.edges[0]?.node;
      return node?.status === 'SENT' ? myNotifications : undefined;
    });
    expect(mine.edges.map((edge) => [edge.node.type, edge.node.recipient])).toEqual([
      ['ORDER_CONFIRMATION', demo.customer.email],
    ]);
    const id = mine.edges[0]?.node.id ?? '';
    const adminsOwn = await waitFor('the admin’s confirmation', async () => {
      const { myNotifications } = await boss.data(MyNotificationsDocument, {});
      return myNotifications.edges[0]?.node;
    });
    expect(codes(await me.request(NotificationDocument, { id: adminsOwn.id }))).toEqual(['FORBIDDEN']);
    expect((await boss.data(NotificationDocument, { id })).notification?.recipient).toBe(demo.customer.email);

    const { allNotifications } = await boss.data(AllNotificationsDocument, { type: 'ORDER_CONFIRMATION' });
    expect(allNotifications.totalCount).toBeGreaterThanOrEqual(2);
    expect(codes(await me.request(AllNotificationsDocument, {}))).toEqual(['FORBIDDEN']);
    expect(codes(await me.request(RetryNotificationDocument, { id }))).toEqual(['FORBIDDEN']);
    expect(codes(await boss.request(RetryNotificationDocument, { id }))).toEqual(['CONFLICT']);
  });
});
