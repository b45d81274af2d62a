import { randomUUID } from 'node:crypto';
import { createPrismaAdapter } from '@shop/db';
import { subgraphMigrations } from '@shop/runtime';
import { useMigratedDatabase } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import { Prisma, PrismaClient } from '../src/generated/prisma/client';
import { subgraph } from '../src/subgraph';

// prisma/schema.prisma and the hand-written migration SQL must agree: every field of every model is
// written and read back through the generated client against the migrated database.

const db = useMigratedDatabase(
  subgraphMigrations(subgraph),
  (url) => new PrismaClient({ adapter: createPrismaAdapter(url) }),
);

describe('schema.prisma and the migrations agree', () => {
  it('Notification: every field with explicit values, then the defaults', async () => {
    const written = {
      id: randomUUID(),
      userId: randomUUID(),
      recipient: 'someone@example.com',
      type: 'ORDER_SHIPPED',
      channel: 'EMAIL',
      subject: 'Subject',
      content: 'Text',
      html: '<p>Html</p>',
      status: 'FAILED' as const,
      retryCount: 3,
      errorMessage: 'connection refused',
      nextAttemptAt: new Date('2026-02-01T10:11:12.345Z'),
      sentAt: new Date('2026-02-01T10:11:13.345Z'),
      eventId: randomUUID(),
      orderId: randomUUID(),
      createdAt: new Date('2026-02-01T10:11:10.345Z'),
      updatedAt: new Date('2026-02-01T10:11:14.345Z'),
      traceContext: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    };
    await db.client.notification.create({ data: written });
    const read = await db.client.notification.findUniqueOrThrow({ where: { id: written.id } });
    expect(Object.keys(read).sort()).toEqual(Object.values(Prisma.NotificationScalarFieldEnum).sort());
    expect(read).toEqual(written);

    const defaults = await db.client.notification.create({
      data: {
        recipient: 'admin@example.com',
        type: 'LOW_STOCK_ALERT',
        subject: 's',
        content: 'c',
        html: 'h',
        eventId: randomUUID(),
      },
    });
    expect(defaults).toMatchObject({
      userId: null,
      channel: 'EMAIL',
      status: 'PENDING',
      retryCount: 0,
      errorMessage: null,
      sentAt: null,
      orderId: null,
      traceContext: null,
    });
    // One notification per event and recipient.
    await expect(
      db.client.notification.create({
        data: {
          recipient: 'admin@example.com',
          type: 'X',
          subject: 's',
          content: 'c',
          html: 'h',
          eventId: defaults.eventId,
        },
      }),
    ).rejects.toThrow();
  });

  it('NotificationTemplate and OrderContact: every field', async () => {
    const template = {
      id: randomUUID(),
      name: 'order-shipped',
      subject: 'S {{orderNumber}}',
      html: '<p>{{userName}}</p>',
      text: '{{userName}}',
      variables: ['orderNumber', 'userName'],
      active: false,
      createdAt: new Date('2026-02-01T10:11:12.345Z'),
      updatedAt: new Date('2026-02-02T10:11:12.345Z'),
    };
    await db.client.notificationTemplate.create({ data: template });
    const readTemplate = await db.client.notificationTemplate.findUniqueOrThrow({
      where: { name: 'order-shipped' },
    });
    expect(Object.keys(readTemplate).sort()).toEqual(
      Object.values(Prisma.NotificationTemplateScalarFieldEnum).sort(),
    );
    expect(readTemplate).toEqual(template);

    const contact = {
      orderId: randomUUID(),
      userId: randomUUID(),
      email: 'c@example.com',
      name: 'C',
      total: new Prisma.Decimal('9999999999.99'),
      currency: 'EUR',
      createdAt: new Date('2026-02-01T10:11:12.345Z'),
    };
    await db.client.orderContact.create({ data: contact });
    const readContact = await db.client.orderContact.findUniqueOrThrow({
      where: { orderId: contact.orderId },
    });
    expect(Object.keys(readContact).sort()).toEqual(Object.values(Prisma.OrderContactScalarFieldEnum).sort());
    expect(readContact).toEqual(contact);
  });

  it('ParkedEvent: every field', async () => {
    const parked = {
      eventId: randomUUID(),
      orderId: randomUUID(),
      type: 'order.shipped',
      envelope: { id: 'x', data: { orderId: 'y', nested: [1, 'two', null] } },
      parkedAt: new Date('2026-02-01T10:11:12.345Z'),
    };
    await db.client.parkedEvent.create({ data: parked });
    const read = await db.client.parkedEvent.findUniqueOrThrow({ where: { eventId: parked.eventId } });
    expect(Object.keys(read).sort()).toEqual(Object.values(Prisma.ParkedEventScalarFieldEnum).sort());
    expect(read).toEqual(parked);
  });
});
