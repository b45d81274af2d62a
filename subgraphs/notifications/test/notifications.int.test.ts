import { randomUUID } from 'node:crypto';
import { codes, createWsTestClient, sampleOrderPlaced, waitFor } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import { notificationFields, uniqueEmail, useNotifications } from './support';

const adminEmail = uniqueEmail('admin');
const notifications = useNotifications({ env: { ADMIN_EMAILS: adminEmail } });

/** Waits until `address` has `count` emails (and returns them). */
async function mailFor(address: string, count = 1) {
  return waitFor(`${count} email(s) to ${address}`, async () => {
    const mail = await notifications.mailTo(address);
    return mail.length >= count ? mail : undefined;
  });
}

async function notificationsOf(eventId: string) {
  return notifications.prisma.notification.findMany({ where: { eventId } });
}

async function sentNotification(eventId: string) {
  return waitFor(`the notification of event ${eventId} SENT`, async () => {
    const rows = await notificationsOf(eventId);
    return rows.length === 1 && rows[0]?.status === 'SENT' ? rows[0] : undefined;
  });
}

/** Places an order (the event) and waits for its confirmation, so later events of the order find the contact. */
async function placedOrder(overrides: Parameters<typeof sampleOrderPlaced>[0] = {}) {
  const data = sampleOrderPlaced({ userEmail: uniqueEmail('customer'), ...overrides });
  const event = await notifications.publish('order.placed', data);
  await sentNotification(event.id);
  return { data, event };
}

describe('one email per business event, through the real SMTP sink', () => {
  it('order.placed: an order confirmation to the customer, with the lines, total and address', async () => {
    const data = sampleOrderPlaced({ userEmail: uniqueEmail('placed'), userName: 'Ada Lovelace' });
    const event = await notifications.publish('order.placed', data);

    const [mail] = await mailFor(data.userEmail);
    const number = data.orderId.slice(0, 8).toUpperCase();
    expect(mail?.subject).toBe(`Your order #${number} is confirmed`);
    expect(mail?.text).toContain('Hello Ada Lovelace');
    expect(mail?.text).toContain('Sample product (SAMPLE-1): 2 x 9.99 USD = 19.98 USD');
    expect(mail?.text).toContain('Order total: 19.98 USD');
    expect(mail?.html).toContain('1 Main St');
    expect(mail?.html).toContain('Shop'); // the shared layout
    const row = await sentNotification(event.id);
    expect(row).toMatchObject({
      type: 'ORDER_CONFIRMATION',
      userId: data.userId,
      recipient: data.userEmail,
      status: 'SENT',
      retryCount: 0,
      errorMessage: null,
    });
    expect(row.sentAt).toBeInstanceOf(Date);
  });

  it('order.shipped, order.cancelled, payment.authorized, payment.failed: one email each, to the order’s customer', async () => {
    const { data } = await placedOrder({ userName: 'Grace' });
    const { orderId, userId, userEmail } = data;
    const number = orderId.slice(0, 8).toUpperCase();
    const paymentId = randomUUID();

    const shipped = await notifications.publish('order.shipped', { orderId, userId });
    const cancelled = await notifications.publish('order.cancelled', {
      orderId,
      userId,
      reason: 'OUT_OF_STOCK',
    });
    const authorized = await notifications.publish('payment.authorized', {
      paymentId,
      orderId,
      userId,
      amount: { amount: '19.98', currency: 'USD' },
    });
    const failed = await notifications.publish('payment.failed', {
      paymentId,
      orderId,
      userId,
      reason: 'card_declined',
    });
    for (const event of [shipped, cancelled, authorized, failed]) await sentNotification(event.id);

    const mail = await mailFor(userEmail, 5);
    const subjects = mail.map((message) => message.subject).sort();
    expect(subjects).toEqual(
      [
        `Payment failed for order #${number}`,
        `Payment received for order #${number}`,
        `Your order #${number} has shipped`,
        `Your order #${number} is confirmed`,
        `Your order #${number} was cancelled`,
      ].sort(),
    );
    const bySubject = (start: string) => mail.find((message) => message.subject.startsWith(start));
    expect(bySubject('Your order #')?.to).toEqual([userEmail]);
    expect(bySubject(`Your order #${number} was cancelled`)?.text).toContain('some items are out of stock');
    expect(bySubject('Payment received')?.text).toContain('19.98 USD');
    expect(bySubject('Payment failed')?.text).toContain('card_declined');
    expect(bySubject(`Your order #${number} has shipped`)?.text).toContain('Hello Grace');
    const types = (
      await notifications.prisma.notification.findMany({ where: { orderId }, orderBy: { createdAt: 'asc' } })
    ).map((row) => row.type);
    expect(types.sort()).toEqual(
      [
        'ORDER_CANCELLED',
        'ORDER_CONFIRMATION',
        'ORDER_SHIPPED',
        'PAYMENT_CONFIRMATION',
        'PAYMENT_FAILED',
      ].sort(),
    );
  });

  it('inventory.low-stock: one alert to the admins (ADMIN_EMAILS), owned by no user', async () => {
    const sku = `LOW-${randomUUID().slice(0, 6).toUpperCase()}`;
    const event = await notifications.publish('inventory.low-stock', {
      inventoryId: randomUUID(),
      productId: randomUUID(),
      sku,
      availableQuantity: 2,
      reorderLevel: 5,
      reorderQuantity: 20,
    });
    const row = await sentNotification(event.id);
    expect(row).toMatchObject({ type: 'LOW_STOCK_ALERT', userId: null, recipient: adminEmail });
    const alerts = (await mailFor(adminEmail)).filter((message) => message.subject.includes(sku));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.subject).toBe(`Low stock: ${sku} (2 left)`);
    expect(alerts[0]?.text).toContain('Suggested reorder quantity: 20');
  });

  it('the same event delivered twice makes one notification and one email', async () => {
    const data = sampleOrderPlaced({ userEmail: uniqueEmail('duplicate') });
    const event = await notifications.publish('order.placed', data);
    await notifications.publishEnvelope(event);
    await notifications.publishEnvelope(event);
    // A later event of the same order (same key, same partition) is handled after the copies.
    const shipped = await notifications.publish('order.shipped', {
      orderId: data.orderId,
      userId: data.userId,
    });
    await sentNotification(shipped.id);
    await sentNotification(event.id);

    expect(await notificationsOf(event.id)).toHaveLength(1);
    const mail = await notifications.mailTo(data.userEmail);
    expect(mail.filter((message) => message.subject.endsWith('is confirmed'))).toHaveLength(1);
  });

  it('a user name with {{, }} or <script> renders as harmless text', async () => {
    const userName = '<script>alert(1)</script> {{x}} }}{{#each}}';
    const data = sampleOrderPlaced({ userEmail: uniqueEmail('hostile'), userName });
    const event = await notifications.publish('order.placed', data);
    const [mail] = await mailFor(data.userEmail);
    const row = await sentNotification(event.id);

    expect(mail?.html).not.toContain('<script>');
    expect(mail?.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; {{x}} }}{{#each}}');
    // The text part is not HTML: the name appears as written, never evaluated as a template.
    expect(mail?.text).toContain(`Hello ${userName},`);
    expect(row.html).not.toContain('<script>');
  });

  it('an event that comes before its order.placed is parked until it arrives, then mails the customer', async () => {
    const data = sampleOrderPlaced({ userEmail: uniqueEmail('early') });
    const shipped = await notifications.publish('order.shipped', {
      orderId: data.orderId,
      userId: data.userId,
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    await notifications.publish('order.placed', data);

    await sentNotification(shipped.id);
    const mail = await mailFor(data.userEmail, 2);
    expect(mail.map((message) => message.subject.split(' ').at(-1)).sort()).toEqual(['confirmed', 'shipped']);
  });

  it('an event whose order never arrives becomes a FAILED notification without recipient (CONTACT_WAIT_MS), no email', async () => {
    const orderId = randomUUID();
    const event = await notifications.publish('payment.failed', {
      paymentId: randomUUID(),
      orderId,
      userId: randomUUID(),
      reason: 'card_declined',
    });
    const row = await waitFor(
      'the notification given up on',
      async () => (await notificationsOf(event.id))[0],
    );
    expect(row).toMatchObject({ type: 'PAYMENT_FAILED', status: 'FAILED', recipient: '', orderId });
    expect(row.errorMessage).toContain('never arrived');
    expect(await notifications.prisma.parkedEvent.count({ where: { orderId } })).toBe(0);
    const retry = 'mutation ($id: ID!) { retryNotification(id: $id) { id } }';
    expect(codes(await notifications.post(retry, { id: row.id }, notifications.adminToken))).toEqual([
      'CONFLICT',
    ]);
  });
});

describe('templates', () => {
  it('an active override in notification_templates replaces the file template; its variables are checked', async () => {
    await notifications.prisma.notificationTemplate.create({
      data: {
        name: 'order-shipped',
        subject: 'On its way: #{{orderNumber}}',
        html: '{{#> layout title="Shipped"}}<p>Box for {{userName}}</p>{{/layout}}',
        text: 'Box for {{userName}}',
        variables: ['orderNumber', 'userName'],
        active: true,
      },
    });
    try {
      const { data } = await placedOrder({ userName: '<b>Bo</b>' });
      const shipped = await notifications.publish('order.shipped', {
        orderId: data.orderId,
        userId: data.userId,
      });
      await sentNotification(shipped.id);
      const mail = (await notifications.mailTo(data.userEmail)).find((m) =>
        m.subject.startsWith('On its way'),
      );
      expect(mail?.subject).toBe(`On its way: #${data.orderId.slice(0, 8).toUpperCase()}`);
      expect(mail?.html).toContain('<p>Box for &lt;b&gt;Bo&lt;/b&gt;</p>');

      // Declaring a variable the event does not provide disqualifies the override: the file template is used.
      await notifications.prisma.notificationTemplate.update({
        where: { name: 'order-shipped' },
        data: { variables: ['orderNumber', 'secret'], text: '{{secret}}' },
      });
      const second = await placedOrder();
      const again = await notifications.publish('order.shipped', {
        orderId: second.data.orderId,
        userId: second.data.userId,
      });
      await sentNotification(again.id);
      const fileMail = (await notifications.mailTo(second.data.userEmail)).find((m) =>
        m.subject.endsWith('shipped'),
      );
      expect(fileMail?.subject).toMatch(/^Your order #.* has shipped$/);

      // An inactive override is ignored too.
      await notifications.prisma.notificationTemplate.update({
        where: { name: 'order-shipped' },
        data: { variables: ['orderNumber'], active: false },
      });
      const third = await placedOrder();
      const inactive = await notifications.publish('order.shipped', {
        orderId: third.data.orderId,
        userId: third.data.userId,
      });
      expect((await sentNotification(inactive.id)).subject).toMatch(/has shipped$/);
    } finally {
      await notifications.prisma.notificationTemplate.deleteMany({ where: { name: 'order-shipped' } });
    }
  });
});

const myNotificationsQuery = `query ($first: Int, $after: String) {
  myNotifications(first: $first, after: $after) {
    totalCount edges { cursor node { ${notificationFields} } } pageInfo { hasNextPage endCursor }
  }
}`;

describe('GraphQL: who sees which notifications', () => {
  it('myNotifications lists only the signed-in user’s own, newest first, paginated', async () => {
    const userA = randomUUID();
    const userB = randomUUID();
    const a1 = await placedOrder({ userId: userA });
    const a2 = await placedOrder({ userId: userA });
    const b1 = await placedOrder({ userId: userB });
    const tokenA = await notifications.tokenFor(userA);

    type Page = {
      myNotifications: {
        totalCount: number;
        edges: { node: { id: string; recipient: string } }[];
        pageInfo: { hasNextPage: boolean; endCursor: string };
      };
    };
    const first = await notifications.post<Page>(myNotificationsQuery, { first: 1 }, tokenA);
    expect(first.errors).toBeUndefined();
    expect(first.data?.myNotifications.totalCount).toBe(2);
    expect(first.data?.myNotifications.edges.map((edge) => edge.node.recipient)).toEqual([a2.data.userEmail]);
    expect(first.data?.myNotifications.pageInfo.hasNextPage).toBe(true);
    const second = await notifications.post<Page>(
      myNotificationsQuery,
      { first: 1, after: first.data?.myNotifications.pageInfo.endCursor },
      tokenA,
    );
    expect(second.data?.myNotifications.edges.map((edge) => edge.node.recipient)).toEqual([
      a1.data.userEmail,
    ]);
    expect(second.data?.myNotifications.pageInfo.hasNextPage).toBe(false);

    // B's notification: A is refused, B and an admin see it.
    const bRow = (await notificationsOf(b1.event.id))[0];
    const byId = `query ($id: ID!) { notification(id: $id) { ${notificationFields} } }`;
    expect(codes(await notifications.post(byId, { id: bRow?.id }, tokenA))).toEqual(['FORBIDDEN']);
    const asB = await notifications.post<{ notification: { id: string; status: string; channel: string } }>(
      byId,
      { id: bRow?.id },
      await notifications.tokenFor(userB),
    );
    expect(asB.data?.notification).toMatchObject({ id: bRow?.id, status: 'SENT', channel: 'EMAIL' });
    const asAdmin = await notifications.post(byId, { id: bRow?.id }, notifications.adminToken);
    expect(asAdmin.errors).toBeUndefined();
    expect((await notifications.post(byId, { id: randomUUID() }, tokenA)).data).toEqual({
      notification: null,
    });
    expect(codes(await notifications.post(byId, { id: 'not-a-uuid' }, tokenA))).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses anonymous callers, and admin operations to customers', async () => {
    expect(codes(await notifications.post(myNotificationsQuery, {}))).toEqual(['UNAUTHENTICATED']);
    const customer = await notifications.tokenFor(randomUUID());
    expect(codes(await notifications.post('{ allNotifications { totalCount } }', {}, customer))).toEqual([
      'FORBIDDEN',
    ]);
    expect(
      codes(
        await notifications.post(
          'mutation ($id: ID!) { retryNotification(id: $id) { id } }',
          { id: randomUUID() },
          customer,
        ),
      ),
    ).toEqual(['FORBIDDEN']);
    expect(codes(await notifications.post(myNotificationsQuery, { first: 0 }, customer))).toEqual([
      'BAD_USER_INPUT',
    ]);
  });

  it('allNotifications filters by type, status, user and recipient for admins; retrying a SENT one is a CONFLICT', async () => {
    const { data, event } = await placedOrder();
    const query = `query ($type: NotificationType, $status: NotificationStatus, $userId: ID, $recipient: String) {
      allNotifications(type: $type, status: $status, userId: $userId, recipient: $recipient, first: 100) {
        totalCount edges { node { id type status recipient } }
      }
    }`;
    type All = { allNotifications: { totalCount: number; edges: { node: { id: string; type: string } }[] } };
    const byUser = await notifications.post<All>(query, { userId: data.userId }, notifications.adminToken);
    expect(byUser.data?.allNotifications.totalCount).toBe(1);
    const byRecipient = await notifications.post<All>(
      query,
      { recipient: data.userEmail.toUpperCase(), type: 'ORDER_CONFIRMATION', status: 'SENT' },
      notifications.adminToken,
    );
    expect(byRecipient.data?.allNotifications.edges.map((edge) => edge.node.type)).toEqual([
      'ORDER_CONFIRMATION',
    ]);
    const none = await notifications.post<All>(
      query,
      { recipient: data.userEmail, status: 'FAILED' },
      notifications.adminToken,
    );
    expect(none.data?.allNotifications.totalCount).toBe(0);

    const row = (await notificationsOf(event.id))[0];
    const retry = 'mutation ($id: ID!) { retryNotification(id: $id) { id status } }';
    expect(codes(await notifications.post(retry, { id: row?.id }, notifications.adminToken))).toEqual([
      'CONFLICT',
    ]);
    expect(codes(await notifications.post(retry, { id: randomUUID() }, notifications.adminToken))).toEqual([
      'NOT_FOUND',
    ]);
  });
});

/** A graphql-ws subscriber to notificationReceived with this token; collects what arrives. */
function subscribeAs(token: string | undefined) {
  const client = createWsTestClient(notifications.wsUrl, token);
  const received: { recipient: string; type: string }[] = [];
  const errors: unknown[] = [];
  client.subscribe<{ notificationReceived: { recipient: string; type: string } }>(
    { query: 'subscription { notificationReceived { id type recipient subject status } }' },
    {
      next: (value) => {
        if (value.data) received.push(value.data.notificationReceived);
        if (value.errors) errors.push(...value.errors);
      },
      error: (error) => errors.push(error),
      complete: () => {},
    },
  );
  return { received, errors, dispose: () => client.dispose() };
}

describe('Subscription.notificationReceived', () => {
  it('streams the signed-in user’s new notifications over graphql-ws, and no one else’s', async () => {
    const userA = randomUUID();
    const userB = randomUUID();
    const a = subscribeAs(await notifications.tokenFor(userA));
    const b = subscribeAs(await notifications.tokenFor(userB));
    try {
      // graphql-ws gives no acknowledgement of a subscription: let the sockets reach the server first.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const forA = sampleOrderPlaced({ userId: userA, userEmail: uniqueEmail('sub-a') });
      const forB = sampleOrderPlaced({ userId: userB, userEmail: uniqueEmail('sub-b') });
      await notifications.publish('order.placed', forB);
      await notifications.publish('order.placed', forA);

      await waitFor(
        'both subscribers’ notifications',
        () => a.received.length >= 1 && b.received.length >= 1,
      );
      expect(a.errors).toEqual([]);
      expect(a.received).toEqual([
        expect.objectContaining({ recipient: forA.userEmail, type: 'ORDER_CONFIRMATION' }),
      ]);
      expect(b.received).toEqual([
        expect.objectContaining({ recipient: forB.userEmail, type: 'ORDER_CONFIRMATION' }),
      ]);
    } finally {
      await a.dispose();
      await b.dispose();
    }
  });

  it('refuses an anonymous subscriber', async () => {
    const anonymous = subscribeAs(undefined);
    try {
      await waitFor('an error', () => anonymous.errors.length > 0);
      expect(JSON.stringify(anonymous.errors)).toContain('UNAUTHENTICATED');
    } finally {
      await anonymous.dispose();
    }
  });
});
