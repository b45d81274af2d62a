import { randomUUID } from 'node:crypto';
import { newestFirst, olderThan } from '@shop/db';
import {
  claimEvent,
  type Enqueue,
  type EventEnvelope,
  noteDuplicate,
  type OutboxTransactionOptions,
  outboxTransaction,
} from '@shop/events';
import { type TraceCarrier, traceCarrier } from '@shop/kit';
import {
  type Notification,
  type NotificationStatus,
  Prisma,
  type PrismaClient,
} from './generated/prisma/client';
import type { NotificationType, TemplateOverride } from './templates';

export type { NotificationStatus } from './generated/prisma/client';

/** A notification as the rest of the subgraph sees it (no Prisma types). */
export interface NotificationRecord {
  id: string;
  userId: string | null;
  recipient: string;
  type: NotificationType;
  channel: 'EMAIL';
  subject: string;
  content: string;
  html: string;
  status: NotificationStatus;
  retryCount: number;
  errorMessage: string | null;
  nextAttemptAt: Date;
  sentAt: Date | null;
  eventId: string;
  orderId: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** The trace of the event handling that recorded it; the send continues it. */
  traceContext: TraceCarrier | null;
}

export interface NewNotification {
  userId: string | null;
  /** FAILED for one that can never be sent (its recipient is unknown); PENDING otherwise. */
  status?: NotificationStatus;
  errorMessage?: string | null;
  recipient: string;
  type: NotificationType;
  subject: string;
  content: string;
  html: string;
  eventId: string;
  orderId: string | null;
}

/** What an order's later events need to reach its customer: kept from its order.placed. */
export interface OrderContactRecord {
  orderId: string;
  userId: string;
  email: string;
  name: string | null;
  total: string;
  currency: string;
}

export interface NotificationFilter {
  userId?: string | undefined;
  status?: NotificationStatus | undefined;
  type?: NotificationType | undefined;
  recipient?: string | undefined;
}

export interface NotificationPosition {
  createdAt: Date;
  id: string;
}

/** A notification row as `notificationColumns` returns it from raw SQL. */
type NotificationRow = Omit<NotificationRecord, 'traceContext' | 'channel'> & { traceContext: unknown };

/** Every column of a notification, named as NotificationRecord names them (for raw SQL). */
const notificationColumns = Prisma.sql`id::text AS id, user_id::text AS "userId", recipient, type, subject, content,
  html, status::text AS status, retry_count AS "retryCount", error_message AS "errorMessage",
  next_attempt_at AS "nextAttemptAt", sent_at AS "sentAt", event_id::text AS "eventId", order_id::text AS "orderId",
  created_at AS "createdAt", updated_at AS "updatedAt", trace_context AS "traceContext"`;

/** A notification as the rest of the subgraph sees it, from a Prisma row or a raw one. */
function toRecord(row: Notification | NotificationRow): NotificationRecord {
  return {
    ...row,
    type: row.type as NotificationType,
    channel: 'EMAIL',
    traceContext: (row.traceContext as TraceCarrier | null) ?? null,
  };
}

function whereOf(filter: NotificationFilter): Prisma.NotificationWhereInput {
  return {
    ...(filter.userId === undefined ? {} : { userId: filter.userId }),
    ...(filter.status === undefined ? {} : { status: filter.status }),
    ...(filter.type === undefined ? {} : { type: filter.type }),
    ...(filter.recipient === undefined
      ? {}
      : { recipient: { equals: filter.recipient, mode: 'insensitive' } }),
  };
}

type Db = PrismaClient | Prisma.TransactionClient;

const orderLockKey = (orderId: string) => `notifications:order:${orderId}`;

/**
 * `claimEvent`, then the order's lock only when the claim succeeded, in one statement: true when the event
 * was not processed before. The lock (a transaction-level advisory lock) serialises the handling of one
 * order's events (its order.placed against an early order.shipped, say) for the rest of the transaction, so
 * an event is never parked just after its contact arrived.
 */
async function claimEventAndLockOrder(
  tx: Db,
  group: string,
  eventId: string,
  orderId: string,
): Promise<boolean> {
  // A SELECT's row count is its rows: one when the claim inserted its row and the lock was taken.
  const locked = await tx.$executeRaw`
    WITH claimed AS (
      INSERT INTO processed_events (consumer_group, event_id) VALUES (${group}, ${eventId}::uuid)
      ON CONFLICT DO NOTHING
      RETURNING 1
    )
    SELECT pg_advisory_xact_lock(hashtextextended(${orderLockKey(orderId)}, 0)) FROM claimed`;
  if (locked !== 1) noteDuplicate();
  return locked === 1;
}

/** The notifications, templates and order-contact tables; the only code of this subgraph that talks to Prisma. */
export class NotificationsRepository {
  constructor(
    private readonly prisma: Db,
    private readonly outbox?: OutboxTransactionOptions,
  ) {}

  /**
   * Handles `event` once for `consumerGroup`: the processed-event row, the work's writes and the events it
   * enqueues commit in one transaction (handleOnce and the outbox together). Returns 'duplicate' for an event
   * seen before, running nothing. `lockOrderId`: the work runs under that order's lock, taken
   * in the statement that marks the event processed (one statement instead of two; not for a duplicate).
   */
  handleOnce(
    consumerGroup: string,
    event: Pick<EventEnvelope, 'id'>,
    work: (repository: NotificationsRepository, enqueue: Enqueue) => Promise<void>,
    lockOrderId?: string,
  ): Promise<'processed' | 'duplicate'> {
    if (!this.outbox || !('$transaction' in this.prisma)) {
      throw new Error('handleOnce() is for the root repository (nested transactions are not supported)');
    }
    return outboxTransaction(this.prisma, this.outbox, async (tx, enqueue) => {
      const claimed =
        lockOrderId === undefined
          ? await claimEvent(tx, consumerGroup, event.id)
          : await claimEventAndLockOrder(tx, consumerGroup, event.id, lockOrderId);
      if (!claimed) return 'duplicate' as const;
      await work(new NotificationsRepository(tx), enqueue);
      return 'processed' as const;
    });
  }

  /**
   * Inserts it, or returns null when this event already produced one for this recipient. The active trace
   * (the consumer's span) is stored with it, so the delivery job's send joins the event's trace.
   */
  async create(notification: NewNotification): Promise<NotificationRecord | null> {
    // Raw SQL: Prisma's createManyAndReturn cost ~2.7 ms of CPU a call (its query compiler and result
    // mapping), this ~0.4 ms; it runs for every email.
    const trace = traceCarrier();
    const rows = await this.prisma.$queryRaw<NotificationRow[]>`
      INSERT INTO notifications (id, user_id, recipient, type, subject, content, html, status, error_message,
                                 event_id, order_id, trace_context, updated_at)
      VALUES (${randomUUID()}::uuid, ${notification.userId}::uuid, ${notification.recipient},
              ${notification.type}, ${notification.subject}, ${notification.content}, ${notification.html},
              ${notification.status ?? 'PENDING'}::"NotificationStatus", ${notification.errorMessage ?? null},
              ${notification.eventId}::uuid, ${notification.orderId}::uuid,
              ${trace ? JSON.stringify(trace) : null}::jsonb, now())
      ON CONFLICT (event_id, recipient) DO NOTHING
      RETURNING ${notificationColumns}`;
    const row = rows[0];
    return row === undefined ? null : toRecord(row);
  }

  async findById(id: string): Promise<NotificationRecord | null> {
    const row = await this.prisma.notification.findUnique({ where: { id } });
    return row === null ? null : toRecord(row);
  }

  /** Up to `take` notifications newest first (createdAt desc, id desc), strictly after `after` when given. */
  async list(
    filter: NotificationFilter,
    take: number,
    after?: NotificationPosition,
  ): Promise<NotificationRecord[]> {
    const where = whereOf(filter);
    const rows = await this.prisma.notification.findMany({
      where: { AND: [where, olderThan(after)] },
      orderBy: newestFirst(),
      take,
    });
    return rows.map(toRecord);
  }

  count(filter: NotificationFilter): Promise<number> {
    return this.prisma.notification.count({ where: whereOf(filter) });
  }

  /**
   * Claims up to `limit` due PENDING notifications for one delivery attempt: FOR UPDATE SKIP LOCKED, so
   * instances never claim the same row, and the claim moves next_attempt_at `leaseMs` ahead, so a crashed
   * sender's rows come back after the lease instead of staying claimed.
   */
  async claimDue(limit: number, leaseMs: number): Promise<NotificationRecord[]> {
    // Oldest first: RETURNING keeps no order, the SELECT over it does.
    const rows = await this.prisma.$queryRaw<NotificationRow[]>`
      WITH claimed AS (
        UPDATE notifications
           SET next_attempt_at = now() + ${leaseMs} * interval '1 millisecond', updated_at = now()
         WHERE id IN (
           SELECT id FROM notifications
            WHERE status = 'PENDING' AND next_attempt_at <= now()
            ORDER BY next_attempt_at, id
            LIMIT ${limit}
            FOR UPDATE SKIP LOCKED)
        RETURNING *)
      SELECT ${notificationColumns} FROM claimed ORDER BY created_at, id`;
    return rows.map(toRecord);
  }

  /** Delivered: SENT (only while still PENDING, so an admin's change in between is not overwritten). */
  async markSent(id: string, sentAt: Date): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE notifications SET status = 'SENT', sent_at = ${sentAt}, error_message = NULL, updated_at = now()
       WHERE id = ${id}::uuid AND status = 'PENDING'`;
  }

  /** A failed attempt: PENDING again at `retryAt`, or FAILED for good when `retryAt` is null. */
  async markAttemptFailed(id: string, errorMessage: string, retryAt: Date | null): Promise<void> {
    await this.prisma.notification.updateMany({
      where: { id, status: 'PENDING' },
      data: {
        retryCount: { increment: 1 },
        errorMessage: errorMessage.slice(0, 1000),
        ...(retryAt === null ? { status: 'FAILED' } : { nextAttemptAt: retryAt }),
      },
    });
  }

  /** FAILED → PENDING, due now, with a fresh count of attempts; null when it is not FAILED (or not there). */
  async requeueFailed(id: string): Promise<NotificationRecord | null> {
    const updated = await this.prisma.notification.updateMany({
      where: { id, status: 'FAILED' },
      data: { status: 'PENDING', retryCount: 0, nextAttemptAt: new Date() },
    });
    return updated.count === 0 ? null : this.findById(id);
  }

  /** Records (or refreshes) an order's contact; the first order.placed wins, a replay changes nothing. */
  async saveOrderContact(contact: OrderContactRecord): Promise<void> {
    // One INSERT … ON CONFLICT DO NOTHING; an upsert with nothing to update was a SELECT and an INSERT.
    await this.prisma.orderContact.createMany({
      data: [{ ...contact, total: new Prisma.Decimal(contact.total) }],
      skipDuplicates: true,
    });
  }

  async findOrderContact(orderId: string): Promise<OrderContactRecord | null> {
    const row = await this.prisma.orderContact.findUnique({ where: { orderId } });
    return row === null
      ? null
      : {
          orderId: row.orderId,
          userId: row.userId,
          email: row.email,
          name: row.name,
          total: row.total.toFixed(2),
          currency: row.currency,
        };
  }

  /** Keeps an event whose order's contact is not known yet (a redelivery of it changes nothing). */
  async parkEvent(event: EventEnvelope, orderId: string): Promise<void> {
    await this.prisma.parkedEvent.createMany({
      data: [
        {
          eventId: event.id,
          orderId,
          type: event.type,
          envelope: event as unknown as Prisma.InputJsonObject,
        },
      ],
      skipDuplicates: true,
    });
  }

  /** Removes and returns the events parked for this order, oldest first (inside the caller's transaction). */
  async takeParked(orderId: string): Promise<EventEnvelope[]> {
    const rows = await this.prisma.$queryRaw<{ envelope: EventEnvelope }[]>`
      DELETE FROM parked_events WHERE order_id = ${orderId}::uuid RETURNING envelope, parked_at`;
    return rows.map((row) => row.envelope);
  }

  /** Removes and returns up to `limit` events parked before `before` (SKIP LOCKED: one instance takes each). */
  async takeExpiredParked(before: Date, limit: number): Promise<{ event: EventEnvelope; orderId: string }[]> {
    const rows = await this.prisma.$queryRaw<{ envelope: EventEnvelope; order_id: string }[]>`
      DELETE FROM parked_events WHERE event_id IN (
        SELECT event_id FROM parked_events WHERE parked_at < ${before}
         ORDER BY parked_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
      RETURNING envelope, order_id`;
    return rows.map((row) => ({ event: row.envelope, orderId: row.order_id }));
  }

  /** Runs `work` in one transaction with a repository bound to it (no events). */
  transaction<R>(work: (repository: NotificationsRepository) => Promise<R>): Promise<R> {
    if (!('$transaction' in this.prisma)) throw new Error('transaction() is for the root repository');
    return this.prisma.$transaction((tx) => work(new NotificationsRepository(tx)));
  }

  /** The active override of a file template, if an admin stored one. */
  async findActiveTemplate(name: string): Promise<TemplateOverride | null> {
    const row = await this.prisma.notificationTemplate.findFirst({ where: { name, active: true } });
    return row;
  }

  /** Stores (or replaces) a template override; for admins' tooling and tests. */
  async saveTemplate(
    template: Omit<TemplateOverride, 'id' | 'updatedAt'> & { active: boolean },
  ): Promise<void> {
    await this.prisma.notificationTemplate.upsert({
      where: { name: template.name },
      create: template,
      update: template,
    });
  }
}
