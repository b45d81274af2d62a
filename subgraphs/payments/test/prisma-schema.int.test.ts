import { randomUUID } from 'node:crypto';
import { createPrismaAdapter } from '@shop/db';
import { subgraphMigrations } from '@shop/runtime';
import { useMigratedDatabase } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import { Prisma, PrismaClient } from '../src/generated/prisma/client';
import { PaymentsRepository } from '../src/payments.repository';
import { subgraph } from '../src/subgraph';

// prisma/schema.prisma and the hand-written migration SQL must agree: every field of every model is written
// and read back through the generated client against the migrated database.

const db = useMigratedDatabase(
  subgraphMigrations(subgraph),
  (url) => new PrismaClient({ adapter: createPrismaAdapter(url) }),
);

const at = (text: string) => new Date(`2026-03-01T${text}Z`);

describe('schema.prisma and the migrations agree', () => {
  it('Payment, PaymentStatusHistory and Refund: every field written and read', async () => {
    const payment = {
      id: randomUUID(),
      orderId: randomUUID(),
      userId: randomUUID(),
      amount: new Prisma.Decimal('9999999999.99'),
      currency: 'EUR',
      status: 'PARTIALLY_REFUNDED' as const,
      paymentMethod: 'card',
      stripePaymentIntentId: 'pi_123',
      idempotencyKey: 'shop-payment-intent-x',
      capturedAmount: new Prisma.Decimal('10.00'),
      refundedAmount: new Prisma.Decimal('2.50'),
      failureReason: 'Your card was declined.',
      metadata: { source: 'test' },
      createdAt: at('10:00:00.001'),
      updatedAt: at('10:00:00.002'),
    };
    await db.client.payment.create({ data: payment });
    const read = await db.client.payment.findUniqueOrThrow({ where: { id: payment.id } });
    expect(Object.keys(read).sort()).toEqual(Object.values(Prisma.PaymentScalarFieldEnum).sort());
    expect(read).toEqual(payment);

    const change = {
      id: randomUUID(),
      paymentId: payment.id,
      fromStatus: 'CAPTURED' as const,
      status: 'PARTIALLY_REFUNDED' as const,
      source: 'WEBHOOK' as const,
      notes: 'refund.created',
      createdAt: at('10:00:01.000'),
      sequence: 42n,
    };
    await db.client.paymentStatusHistory.create({ data: change });
    const readChange = await db.client.paymentStatusHistory.findUniqueOrThrow({ where: { id: change.id } });
    expect(Object.keys(readChange).sort()).toEqual(
      Object.values(Prisma.PaymentStatusHistoryScalarFieldEnum).sort(),
    );
    expect(readChange).toEqual(change);

    const refund = {
      id: randomUUID(),
      paymentId: payment.id,
      amount: new Prisma.Decimal('2.50'),
      reason: 'damaged',
      status: 'SUCCEEDED' as const,
      restock: true,
      stripeRefundId: 're_123',
      requestedBy: randomUUID(),
      createdAt: at('10:00:02.000'),
      updatedAt: at('10:00:03.000'),
    };
    await db.client.refund.create({ data: refund });
    const readRefund = await db.client.refund.findUniqueOrThrow({ where: { id: refund.id } });
    expect(Object.keys(readRefund).sort()).toEqual(Object.values(Prisma.RefundScalarFieldEnum).sort());
    expect(readRefund).toEqual(refund);
  });

  it('fills the defaults, and keeps one payment per order and per intent', async () => {
    const orderId = randomUUID();
    const created = await db.client.payment.create({
      data: { orderId, userId: randomUUID(), amount: '0.125', currency: 'USD' },
    });
    expect(created).toMatchObject({
      status: 'PENDING',
      paymentMethod: null,
      stripePaymentIntentId: null,
      failureReason: null,
      metadata: {},
    });
    expect(created.amount.toFixed(2)).toBe('0.13');
    expect(created.capturedAmount.toFixed(2)).toBe('0.00');
    await expect(
      db.client.payment.create({ data: { orderId, userId: randomUUID(), amount: '1', currency: 'USD' } }),
    ).rejects.toMatchObject({ code: 'P2002' });

    const first = await db.client.paymentStatusHistory.create({
      data: { paymentId: created.id, status: 'PENDING', source: 'EVENT' },
    });
    const second = await db.client.paymentStatusHistory.create({
      data: { paymentId: created.id, fromStatus: 'PENDING', status: 'FAILED', source: 'WEBHOOK' },
    });
    expect(second.sequence).toBeGreaterThan(first.sequence);
    const refund = await db.client.refund.create({ data: { paymentId: created.id, amount: '0.10' } });
    expect(refund).toMatchObject({
      status: 'PENDING',
      restock: false,
      stripeRefundId: null,
      requestedBy: null,
    });
  });

  it('IdempotencyLog: unique per (user, key); StripeWebhookEvent; OrderCancellation', async () => {
    const log = {
      id: randomUUID(),
      userId: randomUUID(),
      idempotencyKey: 'key-1',
      requestHash: 'a'.repeat(64),
      responseData: { paymentId: randomUUID(), clientSecret: 'pi_1_secret_2' },
      createdAt: at('11:00:00.000'),
      expiresAt: at('12:00:00.000'),
    };
    await db.client.idempotencyLog.create({ data: log });
    const readLog = await db.client.idempotencyLog.findUniqueOrThrow({ where: { id: log.id } });
    expect(Object.keys(readLog).sort()).toEqual(Object.values(Prisma.IdempotencyLogScalarFieldEnum).sort());
    expect(readLog).toEqual(log);
    await expect(
      db.client.idempotencyLog.create({ data: { ...log, id: randomUUID() } }),
    ).rejects.toMatchObject({ code: 'P2002' });
    // Another user's identical key is another key.
    await db.client.idempotencyLog.create({ data: { ...log, id: randomUUID(), userId: randomUUID() } });

    const event = {
      id: 'evt_1',
      type: 'payment_intent.succeeded',
      objectId: 'pi_1',
      stripeCreatedAt: at('11:00:00.000'),
      outcome: 'applied',
      receivedAt: at('11:00:01.000'),
    };
    await db.client.stripeWebhookEvent.create({ data: event });
    const readEvent = await db.client.stripeWebhookEvent.findUniqueOrThrow({ where: { id: event.id } });
    expect(Object.keys(readEvent).sort()).toEqual(
      Object.values(Prisma.StripeWebhookEventScalarFieldEnum).sort(),
    );
    expect(readEvent).toEqual(event);

    const cancellation = { orderId: randomUUID(), reason: 'order cancelled', createdAt: at('11:00:02.000') };
    await db.client.orderCancellation.create({ data: cancellation });
    const readCancellation = await db.client.orderCancellation.findUniqueOrThrow({
      where: { orderId: cancellation.orderId },
    });
    expect(Object.keys(readCancellation).sort()).toEqual(
      Object.values(Prisma.OrderCancellationScalarFieldEnum).sort(),
    );
    expect(readCancellation).toEqual(cancellation);
  });

  it('the purge deletes expired idempotency keys only; an expired key is not replayed', async () => {
    const repository = new PaymentsRepository(db.client);
    const userId = randomUUID();
    const now = new Date();
    const entry = (key: string, expiresAt: Date) => ({
      userId,
      idempotencyKey: key,
      requestHash: 'h',
      responseData: {},
      expiresAt,
    });
    await db.client.idempotencyLog.createMany({
      data: [
        entry('expired', new Date(now.getTime() - 1_000)),
        entry('live', new Date(now.getTime() + 24 * 3_600_000)),
      ],
    });
    expect(await repository.findIdempotency(userId, 'expired', now)).toBeNull();
    expect(await repository.findIdempotency(userId, 'live', now)).toMatchObject({ requestHash: 'h' });
    expect(await repository.purgeIdempotency(now, 100)).toBeGreaterThanOrEqual(1);
    const left = await db.client.idempotencyLog.findMany({ where: { userId } });
    expect(left.map((row) => row.idempotencyKey)).toEqual(['live']);
  });
});
