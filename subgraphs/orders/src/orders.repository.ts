import { randomUUID } from 'node:crypto';
import { newestFirst, olderThan } from '@shop/db';
import { claimEvent, type Enqueue, type OutboxTransactionOptions, repositoryTransaction } from '@shop/events';
import {
  type OrderStatusHistory as HistoryRow,
  type OrderItem as OrderItemRow,
  type Order as OrderRow,
  Prisma,
  type PrismaClient,
} from './generated/prisma/client';
import type { CancellationReason, OrderStatus } from './order-state';

export interface ShippingAddress {
  street: string;
  city: string;
  state: string;
  zipCode: string;
  country: string;
}

/** One line as it was sold. */
export interface OrderItemRecord {
  productId: string;
  sku: string;
  name: string;
  quantity: number;
  /** Exact, two decimals. */
  unitPrice: string;
  currency: string;
}

/** An order as the rest of the subgraph sees it: no Prisma types, money as exact strings. */
export interface OrderRecord {
  id: string;
  userId: string;
  userEmail: string;
  userName: string | null;
  status: OrderStatus;
  currency: string;
  /** Exact, two decimals. */
  total: string;
  items: OrderItemRecord[];
  shippingAddress: ShippingAddress;
  cancellationReason: CancellationReason | null;
  stockReservedAt: Date | null;
  paymentAuthorizedAt: Date | null;
  paymentCapturedAt: Date | null;
  refundedAmount: string;
  createdAt: Date;
  updatedAt: Date;
}

/** One row of order_status_history. */
export interface HistoryEntryRecord {
  orderId: string;
  from: OrderStatus | null;
  to: OrderStatus;
  reason: string | null;
  source: string;
  sourceEventId: string | null;
  actorId: string | null;
  at: Date;
}

export interface NewOrder {
  userId: string;
  userEmail: string;
  userName: string | null;
  currency: string;
  total: string;
  items: Omit<OrderItemRecord, 'currency'>[];
  shippingAddress: ShippingAddress;
  /** Who placed it and how: the first history entry (null → PENDING). */
  source: string;
}

/** Which orders a list or a count covers. */
export interface OrderFilter {
  userId?: string | undefined;
  status?: OrderStatus | undefined;
}

/** Where a keyset page starts: strictly after this (createdAt, id), newest first. */
export interface OrderPosition {
  createdAt: Date;
  id: string;
}

/** Fields a transition or a fact changes; absent fields stay. */
export interface OrderChanges {
  status?: OrderStatus;
  cancellationReason?: CancellationReason | null;
  stockReservedAt?: Date | null;
  paymentAuthorizedAt?: Date | null;
  paymentCapturedAt?: Date | null;
  refundedAmount?: string;
}

export type NewHistoryEntry = Omit<HistoryEntryRecord, 'at'>;

type OrderRowWithItems = OrderRow & { items: OrderItemRow[] };

const withItems = { items: { orderBy: { position: 'asc' } } } as const;

/** An order's columns with money as exact strings and its lines in position order: what both reads give. */
type OrderFields = Omit<OrderRowWithItems, 'total' | 'refundedAmount' | 'items'> & {
  total: string;
  refundedAmount: string;
  items: Omit<OrderItemRecord, 'currency'>[];
};

function recordOf(row: OrderFields): OrderRecord {
  return {
    id: row.id,
    userId: row.userId,
    userEmail: row.userEmail,
    userName: row.userName,
    status: row.status,
    currency: row.currency,
    total: row.total,
    items: row.items.map((item) => ({
      productId: item.productId,
      sku: item.sku,
      name: item.name,
      quantity: item.quantity,
      unitPrice: item.unitPrice,
      currency: row.currency,
    })),
    shippingAddress: {
      street: row.shippingStreet,
      city: row.shippingCity,
      state: row.shippingState,
      zipCode: row.shippingZipCode,
      country: row.shippingCountry,
    },
    cancellationReason: row.cancellationReason,
    stockReservedAt: row.stockReservedAt,
    paymentAuthorizedAt: row.paymentAuthorizedAt,
    paymentCapturedAt: row.paymentCapturedAt,
    refundedAmount: row.refundedAmount,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function toRecord(row: OrderRowWithItems): OrderRecord {
  return recordOf({
    ...row,
    total: row.total.toFixed(2),
    refundedAmount: row.refundedAmount.toFixed(2),
    items: row.items.map((item) => ({ ...item, unitPrice: item.unitPrice.toFixed(2) })),
  });
}

type OrderTimes = 'stockReservedAt' | 'paymentAuthorizedAt' | 'paymentCapturedAt' | 'createdAt' | 'updatedAt';

/** An order as the one-statement raw reads return it: times as the driver gives them, lines as JSON text. */
type LockedOrderRow = Omit<OrderFields, OrderTimes | 'items'> & {
  [time in OrderTimes]: Date | string | (null extends OrderFields[time] ? null : never);
} & {
  /** JSON text (json_agg … ::text) of the lines in position order. */
  items: string;
};

/** The columns of `LockedOrderRow` but its lines, for raw statements that return an order. */
const orderColumns = Prisma.sql`
  id::text AS id, user_id::text AS "userId", user_email AS "userEmail", user_name AS "userName",
  status::text AS status, currency::text AS currency, total::text AS total,
  shipping_street AS "shippingStreet", shipping_city AS "shippingCity", shipping_state AS "shippingState",
  shipping_zip_code AS "shippingZipCode", shipping_country::text AS "shippingCountry",
  cancellation_reason::text AS "cancellationReason", stock_reserved_at AS "stockReservedAt",
  payment_authorized_at AS "paymentAuthorizedAt", payment_captured_at AS "paymentCapturedAt",
  refunded_amount::text AS "refundedAmount", created_at AS "createdAt", updated_at AS "updatedAt"`;

/** An order's lines as a JSON array in position order, from a relation `lines` of order_items columns. */
const linesJson = Prisma.sql`
  coalesce(json_agg(json_build_object(
    'productId', lines.product_id, 'sku', lines.sku, 'name', lines.name, 'quantity', lines.quantity,
    'unitPrice', lines.unit_price::text) ORDER BY lines.position), '[]')::text`;

const dateOf = (value: Date | string): Date => (value instanceof Date ? value : new Date(value));
const optionalDateOf = (value: Date | string | null): Date | null => (value === null ? null : dateOf(value));

function lockedOrderOfRow(row: LockedOrderRow): OrderRecord {
  return recordOf({
    ...row,
    stockReservedAt: optionalDateOf(row.stockReservedAt),
    paymentAuthorizedAt: optionalDateOf(row.paymentAuthorizedAt),
    paymentCapturedAt: optionalDateOf(row.paymentCapturedAt),
    createdAt: dateOf(row.createdAt),
    updatedAt: dateOf(row.updatedAt),
    items: JSON.parse(row.items) as OrderFields['items'],
  });
}

function toHistory(row: HistoryRow): HistoryEntryRecord {
  return {
    orderId: row.orderId,
    from: row.fromStatus,
    to: row.toStatus,
    reason: row.reason,
    source: row.source,
    sourceEventId: row.sourceEventId,
    actorId: row.actorId,
    at: row.at,
  };
}

function whereOf(filter: OrderFilter): Prisma.OrderWhereInput {
  return {
    ...(filter.userId === undefined ? {} : { userId: filter.userId }),
    ...(filter.status === undefined ? {} : { status: filter.status }),
  };
}

type Db = PrismaClient | Prisma.TransactionClient;

/** The orders, their lines and their history; the only code of this subgraph that talks to Prisma. */
export class OrdersRepository {
  /** `outbox` is given to the root repository; the ones `transaction` hands out are bound to its transaction. */
  constructor(
    private readonly prisma: Db,
    private readonly outbox?: OutboxTransactionOptions,
  ) {}

  /**
   * Runs `work` in one database transaction with a repository bound to it and `enqueue` for the events it
   * describes: the rows and the events commit together (the transactional outbox) or not at all.
   */
  transaction<R>(work: (repository: OrdersRepository, enqueue: Enqueue) => Promise<R>): Promise<R> {
    return repositoryTransaction(this.prisma, this.outbox, (tx) => new OrdersRepository(tx), work);
  }

  /** Records that `consumerGroup` handled `eventId` (in this transaction); false when it already had. */
  claimEvent(consumerGroup: string, eventId: string): Promise<boolean> {
    return claimEvent(this.prisma, consumerGroup, eventId);
  }

  async findById(id: string): Promise<OrderRecord | null> {
    const row = await this.prisma.order.findUnique({ where: { id }, include: withItems });
    return row === null ? null : toRecord(row);
  }

  /**
   * The order, its row locked until the transaction ends (so its changes and events stay in order). One
   * statement (the lock, the row and its lines), not three: every event about an order comes through here.
   */
  async lockById(id: string): Promise<OrderRecord | null> {
    const [row] = await this.prisma.$queryRaw<LockedOrderRow[]>`
      SELECT ${orderColumns},
             (SELECT ${linesJson} FROM order_items lines WHERE lines.order_id = orders.id) AS items
      FROM orders WHERE id = ${id}::uuid FOR UPDATE`;
    return row === undefined ? null : lockedOrderOfRow(row);
  }

  /** Every order among `ids` that exists, in no particular order, in one query. */
  async findByIds(ids: readonly string[]): Promise<OrderRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.prisma.order.findMany({ where: { id: { in: [...ids] } }, include: withItems });
    return rows.map(toRecord);
  }

  /** Up to `take` orders newest first (createdAt desc, id desc), strictly after `after` when given. */
  async list(filter: OrderFilter, take: number, after?: OrderPosition): Promise<OrderRecord[]> {
    const where = whereOf(filter);
    const rows = await this.prisma.order.findMany({
      where: { AND: [where, olderThan(after)] },
      orderBy: newestFirst(),
      include: withItems,
      take,
    });
    return rows.map(toRecord);
  }

  count(filter: OrderFilter): Promise<number> {
    return this.prisma.order.count({ where: whereOf(filter) });
  }

  /**
   * The order with its lines and its first history entry (PENDING), in one statement: a nested Prisma create
   * was five (the three inserts, then the order and its lines read back).
   */
  async create(order: NewOrder): Promise<OrderRecord> {
    const id = randomUUID();
    const at = new Date().toISOString();
    const { items, shippingAddress: address } = order;
    const [row] = await this.prisma.$queryRaw<LockedOrderRow[]>`
      WITH created AS (
        INSERT INTO orders (id, user_id, user_email, user_name, currency, total, shipping_street, shipping_city,
                            shipping_state, shipping_zip_code, shipping_country, created_at, updated_at)
        VALUES (${id}::uuid, ${order.userId}::uuid, ${order.userEmail}, ${order.userName}, ${order.currency},
                ${new Prisma.Decimal(order.total).toFixed()}::numeric, ${address.street}, ${address.city},
                ${address.state}, ${address.zipCode}, ${address.country}, ${at}::timestamptz, ${at}::timestamptz)
        RETURNING ${orderColumns}
      ), lines AS (
        INSERT INTO order_items (id, order_id, position, product_id, sku, name, quantity, unit_price)
        SELECT line.id, ${id}::uuid, line.position, line.product_id, line.sku, line.name, line.quantity,
               line.unit_price
        FROM unnest(${items.map(() => randomUUID())}::uuid[], ${items.map((_, position) => position)}::int[],
                    ${items.map((item) => item.productId)}::uuid[], ${items.map((item) => item.sku)}::text[],
                    ${items.map((item) => item.name)}::text[], ${items.map((item) => item.quantity)}::int[],
                    ${items.map((item) => new Prisma.Decimal(item.unitPrice).toFixed())}::numeric[])
             AS line(id, position, product_id, sku, name, quantity, unit_price)
        RETURNING position, product_id, sku, name, quantity, unit_price
      ), history AS (
        INSERT INTO order_status_history (id, order_id, from_status, to_status, source, actor_id, at)
        VALUES (${randomUUID()}::uuid, ${id}::uuid, NULL, 'PENDING', ${order.source}, ${order.userId}::uuid,
                ${at}::timestamptz)
      )
      SELECT created.*, (SELECT ${linesJson} FROM lines) AS items FROM created`;
    if (row === undefined) throw new Error(`order ${id} was not inserted`);
    return lockedOrderOfRow(row);
  }

  /**
   * The locked `order` with `changes` written and `history` appended (in its order), in one statement; its
   * lines never change, so they are not read again. Raw SQL: every event that moves an order comes here, and
   * a Prisma update and a history create were two statements through its query compiler.
   */
  async update(
    order: OrderRecord,
    changes: OrderChanges,
    history: readonly NewHistoryEntry[] = [],
  ): Promise<OrderRecord> {
    // One time for the row and its history, taken here as Prisma's @updatedAt and now() defaults were.
    const now = new Date().toISOString();
    const time = (value: Date | null) => value?.toISOString() ?? null;
    const sets = [Prisma.sql`updated_at = ${now}::timestamptz`];
    if (changes.status !== undefined) sets.push(Prisma.sql`status = ${changes.status}::order_status`);
    if (changes.cancellationReason !== undefined) {
      sets.push(Prisma.sql`cancellation_reason = ${changes.cancellationReason}::cancellation_reason`);
    }
    if (changes.stockReservedAt !== undefined) {
      sets.push(Prisma.sql`stock_reserved_at = ${time(changes.stockReservedAt)}::timestamptz`);
    }
    if (changes.paymentAuthorizedAt !== undefined) {
      sets.push(Prisma.sql`payment_authorized_at = ${time(changes.paymentAuthorizedAt)}::timestamptz`);
    }
    if (changes.paymentCapturedAt !== undefined) {
      sets.push(Prisma.sql`payment_captured_at = ${time(changes.paymentCapturedAt)}::timestamptz`);
    }
    if (changes.refundedAmount !== undefined) {
      sets.push(
        Prisma.sql`refunded_amount = ${new Prisma.Decimal(changes.refundedAmount).toFixed()}::numeric`,
      );
    }
    const entries = JSON.stringify(
      history.map((entry) => ({
        id: randomUUID(),
        from: entry.from,
        to: entry.to,
        reason: entry.reason,
        source: entry.source,
        sourceEventId: entry.sourceEventId,
        actorId: entry.actorId,
      })),
    );
    const [row] = await this.prisma.$queryRaw<LockedOrderRow[]>`
      WITH changed AS (
        UPDATE orders SET ${Prisma.join(sets, ', ')} WHERE id = ${order.id}::uuid RETURNING *
      ), history AS (
        INSERT INTO order_status_history
          (id, order_id, from_status, to_status, reason, source, source_event_id, actor_id, at)
        SELECT (e->>'id')::uuid, changed.id, (e->>'from')::order_status, (e->>'to')::order_status, e->>'reason',
               e->>'source', (e->>'sourceEventId')::uuid, (e->>'actorId')::uuid, ${now}::timestamptz
        FROM changed, jsonb_array_elements(${entries}::jsonb) WITH ORDINALITY AS entries(e, position)
        ORDER BY position
      )
      SELECT ${orderColumns}, '[]' AS items FROM changed`;
    if (row === undefined) throw new Error(`order ${order.id} not found`);
    return { ...lockedOrderOfRow(row), items: order.items };
  }

  /** The history of each of these orders, oldest first, in one query. */
  async historyOf(orderIds: readonly string[]): Promise<HistoryEntryRecord[]> {
    if (orderIds.length === 0) return [];
    const rows = await this.prisma.orderStatusHistory.findMany({
      where: { orderId: { in: [...orderIds] } },
      orderBy: [{ seq: 'asc' }],
    });
    return rows.map(toHistory);
  }
}
