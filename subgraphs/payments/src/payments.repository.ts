import { refuseDuplicates } from '@shop/db';
import { claimEvent, type Enqueue, type OutboxTransactionOptions, repositoryTransaction } from '@shop/events';
import {
  type Payment,
  type PaymentStatusHistory,
  Prisma,
  type PrismaClient,
  type Refund,
} from './generated/prisma/client';
import type { PaymentStatus, TransitionSource } from './payment-status';

/** A payment as the rest of the subgraph sees it: no Prisma types, money as exact strings. */
export interface PaymentRecord {
  id: string;
  orderId: string;
  userId: string;
  /** Exact, two decimals: "19.98". */
  amount: string;
  currency: string;
  status: PaymentStatus;
  paymentMethod: string | null;
  stripePaymentIntentId: string | null;
  idempotencyKey: string | null;
  capturedAmount: string;
  refundedAmount: string;
  failureReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface StatusChangeRecord {
  id: string;
  paymentId: string;
  from: PaymentStatus | null;
  status: PaymentStatus;
  source: TransitionSource;
  notes: string | null;
  createdAt: Date;
}

export type RefundStatus = 'PENDING' | 'SUCCEEDED' | 'FAILED';

export interface RefundRecord {
  id: string;
  paymentId: string;
  amount: string;
  currency: string;
  reason: string | null;
  status: RefundStatus;
  restock: boolean;
  stripeRefundId: string | null;
  createdAt: Date;
}

export interface IdempotencyRecord {
  requestHash: string;
  responseData: unknown;
}

export interface PaymentChanges {
  status?: PaymentStatus;
  stripePaymentIntentId?: string;
  idempotencyKey?: string;
  paymentMethod?: string | null;
  capturedAmount?: string;
  refundedAmount?: string;
  failureReason?: string | null;
}

function toRecord(row: Payment): PaymentRecord {
  return {
    id: row.id,
    orderId: row.orderId,
    userId: row.userId,
    amount: row.amount.toFixed(2),
    currency: row.currency,
    status: row.status,
    paymentMethod: row.paymentMethod,
    stripePaymentIntentId: row.stripePaymentIntentId,
    idempotencyKey: row.idempotencyKey,
    capturedAmount: row.capturedAmount.toFixed(2),
    refundedAmount: row.refundedAmount.toFixed(2),
    failureReason: row.failureReason,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function toChange(row: PaymentStatusHistory): StatusChangeRecord {
  return {
    id: row.id,
    paymentId: row.paymentId,
    from: row.fromStatus,
    status: row.status,
    source: row.source,
    notes: row.notes,
    createdAt: row.createdAt,
  };
}

function toRefund(row: Refund & { payment: { currency: string } }): RefundRecord {
  return {
    id: row.id,
    paymentId: row.paymentId,
    amount: row.amount.toFixed(2),
    currency: row.payment.currency,
    reason: row.reason,
    status: row.status,
    restock: row.restock,
    stripeRefundId: row.stripeRefundId,
    createdAt: row.createdAt,
  };
}

type Db = PrismaClient | Prisma.TransactionClient;

/** The payments tables; the only code of this subgraph that talks to Prisma. */
export class PaymentsRepository {
  constructor(
    private readonly prisma: Db,
    private readonly outbox?: OutboxTransactionOptions,
  ) {}

  /**
   * Runs `work` in one transaction with a repository bound to it and `enqueue` for its events: rows, the
   * webhook inbox, processed-event marks and outbox events commit together or not at all.
   */
  transaction<R>(work: (repository: PaymentsRepository, enqueue: Enqueue) => Promise<R>): Promise<R> {
    return repositoryTransaction(this.prisma, this.outbox, (tx) => new PaymentsRepository(tx), work);
  }

  /** Inside a transaction: false when this consumer group handled the event before. */
  claimEvent(group: string, eventId: string): Promise<boolean> {
    return claimEvent(this.prisma, group, eventId);
  }

  async findById(id: string): Promise<PaymentRecord | null> {
    const row = await this.prisma.payment.findUnique({ where: { id } });
    return row && toRecord(row);
  }

  async findByIds(ids: readonly string[]): Promise<PaymentRecord[]> {
    if (ids.length === 0) return [];
    return (await this.prisma.payment.findMany({ where: { id: { in: [...ids] } } })).map(toRecord);
  }

  async findByOrderIds(orderIds: readonly string[]): Promise<PaymentRecord[]> {
    if (orderIds.length === 0) return [];
    return (await this.prisma.payment.findMany({ where: { orderId: { in: [...orderIds] } } })).map(toRecord);
  }

  async findByOrderId(orderId: string): Promise<PaymentRecord | null> {
    const row = await this.prisma.payment.findUnique({ where: { orderId } });
    return row && toRecord(row);
  }

  async findByIntentId(intentId: string): Promise<PaymentRecord | null> {
    const row = await this.prisma.payment.findUnique({ where: { stripePaymentIntentId: intentId } });
    return row && toRecord(row);
  }

  /** Inside a transaction: the payment, its row locked until commit (every transition goes through this). */
  async lock(id: string): Promise<PaymentRecord | null> {
    await this.prisma.$queryRaw`SELECT id FROM payments WHERE id = ${id}::uuid FOR UPDATE`;
    return this.findById(id);
  }

  /** The new PENDING payment, or null when the order has one already (the unique order id decides). */
  async createPending(payment: {
    orderId: string;
    userId: string;
    amount: string;
    currency: string;
    metadata: Record<string, string>;
  }): Promise<PaymentRecord | null> {
    const inserted = await this.prisma.payment.createMany({
      data: [{ ...payment, amount: new Prisma.Decimal(payment.amount), status: 'PENDING' }],
      skipDuplicates: true,
    });
    if (inserted.count === 0) return null;
    return this.findByOrderId(payment.orderId);
  }

  async update(id: string, changes: PaymentChanges): Promise<PaymentRecord> {
    const { capturedAmount, refundedAmount, ...rest } = changes;
    return toRecord(
      await this.prisma.payment.update({
        where: { id },
        data: {
          ...rest,
          ...(capturedAmount === undefined ? {} : { capturedAmount: new Prisma.Decimal(capturedAmount) }),
          ...(refundedAmount === undefined ? {} : { refundedAmount: new Prisma.Decimal(refundedAmount) }),
        },
      }),
    );
  }

  async addHistory(change: {
    paymentId: string;
    from: PaymentStatus | null;
    status: PaymentStatus;
    source: TransitionSource;
    notes?: string | null;
  }): Promise<void> {
    await this.prisma.paymentStatusHistory.create({
      data: {
        paymentId: change.paymentId,
        fromStatus: change.from,
        status: change.status,
        source: change.source,
        notes: change.notes ?? null,
      },
    });
  }

  /** Every transition of these payments, oldest first. */
  async historyOf(paymentIds: readonly string[]): Promise<StatusChangeRecord[]> {
    if (paymentIds.length === 0) return [];
    const rows = await this.prisma.paymentStatusHistory.findMany({
      where: { paymentId: { in: [...paymentIds] } },
      orderBy: { sequence: 'asc' },
    });
    return rows.map(toChange);
  }

  /** Every refund of these payments, oldest first. */
  async refundsOf(paymentIds: readonly string[]): Promise<RefundRecord[]> {
    if (paymentIds.length === 0) return [];
    const rows = await this.prisma.refund.findMany({
      where: { paymentId: { in: [...paymentIds] } },
      include: { payment: { select: { currency: true } } },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
    return rows.map(toRefund);
  }

  async createRefund(refund: {
    paymentId: string;
    amount: string;
    reason: string | null;
    restock: boolean;
    requestedBy: string | null;
    status?: RefundStatus;
    stripeRefundId?: string;
  }): Promise<RefundRecord> {
    const row = await this.prisma.refund.create({
      data: { ...refund, amount: new Prisma.Decimal(refund.amount) },
      include: { payment: { select: { currency: true } } },
    });
    return toRefund(row);
  }

  async updateRefund(
    id: string,
    changes: { status: RefundStatus; stripeRefundId?: string },
  ): Promise<RefundRecord> {
    const row = await this.prisma.refund.update({
      where: { id },
      data: changes,
      include: { payment: { select: { currency: true } } },
    });
    return toRefund(row);
  }

  async findRefund(where: { id: string } | { stripeRefundId: string }): Promise<RefundRecord | null> {
    const row = await this.prisma.refund.findUnique({
      where,
      include: { payment: { select: { currency: true } } },
    });
    return row && toRefund(row);
  }

  async findIdempotency(userId: string, key: string, now: Date): Promise<IdempotencyRecord | null> {
    const row = await this.prisma.idempotencyLog.findUnique({
      where: { userId_idempotencyKey: { userId, idempotencyKey: key } },
    });
    if (row === null || row.expiresAt <= now) return null;
    return { requestHash: row.requestHash, responseData: row.responseData };
  }

  /**
   * Stores the response of a key. An expired row of the same key is replaced; a live one makes this throw
   * UniqueViolation (a concurrent request with the same key got there first).
   */
  async saveIdempotency(entry: {
    userId: string;
    key: string;
    requestHash: string;
    responseData: Prisma.InputJsonValue;
    expiresAt: Date;
    now: Date;
  }): Promise<void> {
    await this.prisma.idempotencyLog.deleteMany({
      where: { userId: entry.userId, idempotencyKey: entry.key, expiresAt: { lte: entry.now } },
    });
    await refuseDuplicates(() =>
      this.prisma.idempotencyLog.create({
        data: {
          userId: entry.userId,
          idempotencyKey: entry.key,
          requestHash: entry.requestHash,
          responseData: entry.responseData,
          expiresAt: entry.expiresAt,
        },
      }),
    );
  }

  /** Deletes up to `limit` expired idempotency keys; returns how many. */
  async purgeIdempotency(now: Date, limit: number): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM idempotency_logs WHERE id IN (
        SELECT id FROM idempotency_logs WHERE expires_at <= ${now} ORDER BY expires_at LIMIT ${limit})`;
  }

  /** Inside a transaction: records a Stripe event in the inbox; false when it was received before. */
  async receiveWebhookEvent(event: {
    id: string;
    type: string;
    objectId: string | null;
    createdAt: Date;
  }): Promise<boolean> {
    const inserted = await this.prisma.stripeWebhookEvent.createMany({
      data: [
        {
          id: event.id,
          type: event.type,
          objectId: event.objectId,
          stripeCreatedAt: event.createdAt,
          outcome: 'received',
        },
      ],
      skipDuplicates: true,
    });
    return inserted.count === 1;
  }

  async setWebhookOutcome(id: string, outcome: string): Promise<void> {
    await this.prisma.stripeWebhookEvent.update({ where: { id }, data: { outcome } });
  }

  /** Remembers that an order was cancelled (or refused stock) before its payment existed. */
  async recordCancellation(orderId: string, reason: string): Promise<void> {
    await this.prisma.orderCancellation.createMany({ data: [{ orderId, reason }], skipDuplicates: true });
  }

  async findCancellation(orderId: string): Promise<{ reason: string } | null> {
    return this.prisma.orderCancellation.findUnique({ where: { orderId }, select: { reason: true } });
  }
}
