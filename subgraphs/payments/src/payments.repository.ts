import { randomUUID } from 'node:crypto';
import { UniqueViolation } from '@shop/db';
import {
  claimEvent,
  type Enqueue,
  noteDuplicate,
  type OutboxTransactionOptions,
  repositoryTransaction,
} from '@shop/events';
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

/** A payments row as `lock` selects it by raw SQL (money as text, times as the driver returns them). */
type LockedPaymentRow = Omit<PaymentRecord, 'createdAt' | 'updatedAt'> & {
  createdAt: Date | string;
  updatedAt: Date | string;
};

/** The columns of `LockedPaymentRow`, for raw statements that return a payment. */
const paymentColumns = Prisma.sql`
  id::text AS id, order_id::text AS "orderId", user_id::text AS "userId", amount::text AS amount,
  currency::text AS currency, status::text AS status, payment_method AS "paymentMethod",
  stripe_payment_intent_id AS "stripePaymentIntentId", idempotency_key AS "idempotencyKey",
  captured_amount::text AS "capturedAmount", refunded_amount::text AS "refundedAmount",
  failure_reason AS "failureReason", created_at AS "createdAt", updated_at AS "updatedAt"`;

const dateOf = (value: Date | string): Date => (value instanceof Date ? value : new Date(value));

function paymentOfRow(row: LockedPaymentRow): PaymentRecord {
  return { ...row, createdAt: dateOf(row.createdAt), updatedAt: dateOf(row.updatedAt) };
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

  /** Raw SQL (callers have checked the id is a UUID): asked several times a checkout, cheaper than findUnique. */
  async findByOrderId(orderId: string): Promise<PaymentRecord | null> {
    const [row] = await this.prisma.$queryRaw<LockedPaymentRow[]>`
      SELECT ${paymentColumns} FROM payments WHERE order_id = ${orderId}::uuid`;
    return row === undefined ? null : paymentOfRow(row);
  }

  async findByIntentId(intentId: string): Promise<PaymentRecord | null> {
    const row = await this.prisma.payment.findUnique({ where: { stripePaymentIntentId: intentId } });
    return row && toRecord(row);
  }

  /** Inside a transaction: the payment, its row locked until commit (every transition goes through this). */
  async lock(id: string): Promise<PaymentRecord | null> {
    // The lock and the row in one statement (was two): every webhook and payment event comes through here.
    const [row] = await this.prisma.$queryRaw<LockedPaymentRow[]>`
      SELECT ${paymentColumns} FROM payments WHERE id = ${id}::uuid FOR UPDATE`;
    return row === undefined ? null : paymentOfRow(row);
  }

  /** Inside a transaction: the payment of a Stripe PaymentIntent, its row locked until commit. */
  async lockByIntentId(intentId: string): Promise<PaymentRecord | null> {
    const [row] = await this.prisma.$queryRaw<LockedPaymentRow[]>`
      SELECT ${paymentColumns} FROM payments WHERE stripe_payment_intent_id = ${intentId} FOR UPDATE`;
    return row === undefined ? null : paymentOfRow(row);
  }

  /**
   * Inside a transaction: claims the event for the consumer group and, only if the claim is new, inserts the
   * order's PENDING payment with its first history row, in one statement (the claim and the insert were two round
   * trips, each one while the payments handler of that partition waits). Null for an event handled before, or
   * when the order has a payment already (the unique order id decides; then no history row either).
   */
  async claimAndCreatePending(
    claim: { group: string; eventId: string },
    payment: {
      orderId: string;
      userId: string;
      amount: string;
      currency: string;
      metadata: Record<string, string>;
    },
    history: { source: TransitionSource; notes: string | null },
  ): Promise<PaymentRecord | null> {
    const [row] = await this.prisma.$queryRaw<(Partial<LockedPaymentRow> & { claimed: boolean })[]>`
      WITH claimed AS (
        INSERT INTO processed_events (consumer_group, event_id) VALUES (${claim.group}, ${claim.eventId}::uuid)
        ON CONFLICT DO NOTHING
        RETURNING 1
      ), created AS (
        INSERT INTO payments (id, order_id, user_id, amount, currency, status, metadata, created_at, updated_at)
        SELECT ${randomUUID()}::uuid, ${payment.orderId}::uuid, ${payment.userId}::uuid,
               ${new Prisma.Decimal(payment.amount).toFixed()}::numeric, ${payment.currency}, 'PENDING',
               ${JSON.stringify(payment.metadata)}::jsonb, now(), now()
        WHERE EXISTS (SELECT 1 FROM claimed)
        ON CONFLICT DO NOTHING
        RETURNING *
      ), history AS (
        INSERT INTO payment_status_history (id, payment_id, from_status, status, source, notes)
        SELECT ${randomUUID()}::uuid, id, NULL, 'PENDING', ${history.source}::transition_source, ${history.notes}::text
        FROM created
      )
      SELECT EXISTS (SELECT 1 FROM claimed) AS claimed, p.*
      FROM (SELECT 1) AS one
      LEFT JOIN (SELECT ${paymentColumns} FROM created) p ON true`;
    if (row === undefined) throw new Error('a SELECT over (SELECT 1) returned no row');
    const { claimed, ...created } = row;
    if (!claimed) noteDuplicate();
    // No payment inserted: the LEFT JOIN gives its columns as nulls.
    return created.id ? paymentOfRow(created as LockedPaymentRow) : null;
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
    // created_at from the column's default: the transaction's start, shared by its transitions.
    await this.prisma.$executeRaw`
      INSERT INTO payment_status_history (id, payment_id, from_status, status, source, notes)
      VALUES (${randomUUID()}::uuid, ${change.paymentId}::uuid, ${change.from}::payment_status,
              ${change.status}::payment_status, ${change.source}::transition_source, ${change.notes ?? null}::text)`;
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
   * createPaymentIntent's two reads in one round trip (it is asked again and again until the payment
   * exists): the key's live log entry, as `findIdempotency`, and the order's payment, as `findByOrderId`.
   */
  async findIntentRequest(
    userId: string,
    key: string,
    orderId: string,
    now: Date,
  ): Promise<{ logged: IdempotencyRecord | null; payment: PaymentRecord | null }> {
    type Row = Partial<LockedPaymentRow> & {
      logRequestHash: string | null;
      logResponseData: unknown;
      logExpiresAt: Date | string | null;
    };
    const [row] = await this.prisma.$queryRaw<Row[]>`
      SELECT l.request_hash AS "logRequestHash", l.response_data AS "logResponseData",
             l.expires_at AS "logExpiresAt", p.*
      FROM (SELECT 1) AS one
      LEFT JOIN idempotency_logs l ON l.user_id = ${userId}::uuid AND l.idempotency_key = ${key}
      LEFT JOIN (SELECT ${paymentColumns} FROM payments WHERE order_id = ${orderId}::uuid) p ON true`;
    if (row === undefined) throw new Error('a SELECT over (SELECT 1) returned no row');
    const { logRequestHash, logResponseData, logExpiresAt, ...payment } = row;
    const live = logRequestHash !== null && logExpiresAt !== null && dateOf(logExpiresAt) > now;
    return {
      logged: live
        ? {
            requestHash: logRequestHash,
            responseData: typeof logResponseData === 'string' ? JSON.parse(logResponseData) : logResponseData,
          }
        : null,
      payment: payment.id == null ? null : paymentOfRow(payment as LockedPaymentRow),
    };
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
    // One statement (was a DELETE of the expired row, then an INSERT): a live row of the key makes it write
    // nothing, after waiting for a concurrent writer of the same key to commit, as the unique index did.
    const written = await this.prisma.$executeRaw`
      INSERT INTO idempotency_logs (id, user_id, idempotency_key, request_hash, response_data, created_at, expires_at)
      VALUES (${randomUUID()}::uuid, ${entry.userId}::uuid, ${entry.key}, ${entry.requestHash},
              ${JSON.stringify(entry.responseData)}::jsonb, ${new Date().toISOString()}::timestamptz,
              ${entry.expiresAt.toISOString()}::timestamptz)
      ON CONFLICT (user_id, idempotency_key) DO UPDATE SET
        id = EXCLUDED.id, request_hash = EXCLUDED.request_hash, response_data = EXCLUDED.response_data,
        created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
      WHERE idempotency_logs.expires_at <= ${entry.now.toISOString()}::timestamptz`;
    if (written === 0) throw new UniqueViolation(['user_id', 'idempotency_key']);
  }

  /** Deletes up to `limit` expired idempotency keys; returns how many. */
  async purgeIdempotency(now: Date, limit: number): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM idempotency_logs WHERE id IN (
        SELECT id FROM idempotency_logs WHERE expires_at <= ${now} ORDER BY expires_at LIMIT ${limit})`;
  }

  /**
   * Records a Stripe event in the inbox (inside the transaction that applies it, outcome 'received' until
   * then; or alone, with its final `outcome`, for an event nothing is done for); false when it was received
   * before.
   */
  async receiveWebhookEvent(
    event: {
      id: string;
      type: string;
      objectId: string | null;
      createdAt: Date;
    },
    outcome = 'received',
  ): Promise<boolean> {
    // Raw SQL, as the other statements of every webhook: Prisma's createMany cost several times as much CPU.
    const inserted = await this.prisma.$executeRaw`
      INSERT INTO stripe_webhook_events (id, type, object_id, stripe_created_at, outcome)
      VALUES (${event.id}, ${event.type}, ${event.objectId}, ${event.createdAt}, ${outcome})
      ON CONFLICT (id) DO NOTHING`;
    return inserted === 1;
  }

  async setWebhookOutcome(id: string, outcome: string): Promise<void> {
    await this.prisma.$executeRaw`UPDATE stripe_webhook_events SET outcome = ${outcome} WHERE id = ${id}`;
  }

  /** Remembers that an order was cancelled (or refused stock) before its payment existed. */
  async recordCancellation(orderId: string, reason: string): Promise<void> {
    await this.prisma.orderCancellation.createMany({ data: [{ orderId, reason }], skipDuplicates: true });
  }

  async findCancellation(orderId: string): Promise<{ reason: string } | null> {
    const [row] = await this.prisma.$queryRaw<{ reason: string }[]>`
      SELECT reason FROM order_cancellations WHERE order_id = ${orderId}::uuid`;
    return row ?? null;
  }
}
