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

function toRecord(row: OrderRowWithItems): OrderRecord {
  return {
    id: row.id,
    userId: row.userId,
    userEmail: row.userEmail,
    userName: row.userName,
    status: row.status,
    currency: row.currency,
    total: row.total.toFixed(2),
    items: row.items.map((item) => ({
      productId: item.productId,
      sku: item.sku,
      name: item.name,
      quantity: item.quantity,
      unitPrice: item.unitPrice.toFixed(2),
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
    refundedAmount: row.refundedAmount.toFixed(2),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
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

  /** The order, its row locked until the transaction ends (so its changes and events stay in order). */
  async lockById(id: string): Promise<OrderRecord | null> {
    await this.prisma.$queryRaw`SELECT id FROM orders WHERE id = ${id}::uuid FOR UPDATE`;
    return this.findById(id);
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

  /** The order with its lines and its first history entry (PENDING). */
  async create(order: NewOrder): Promise<OrderRecord> {
    const row = await this.prisma.order.create({
      data: {
        userId: order.userId,
        userEmail: order.userEmail,
        userName: order.userName,
        currency: order.currency,
        total: new Prisma.Decimal(order.total),
        shippingStreet: order.shippingAddress.street,
        shippingCity: order.shippingAddress.city,
        shippingState: order.shippingAddress.state,
        shippingZipCode: order.shippingAddress.zipCode,
        shippingCountry: order.shippingAddress.country,
        items: {
          create: order.items.map((item, position) => ({
            position,
            productId: item.productId,
            sku: item.sku,
            name: item.name,
            quantity: item.quantity,
            unitPrice: new Prisma.Decimal(item.unitPrice),
          })),
        },
        history: {
          create: { fromStatus: null, toStatus: 'PENDING', source: order.source, actorId: order.userId },
        },
      },
      include: withItems,
    });
    return toRecord(row);
  }

  async update(id: string, changes: OrderChanges): Promise<OrderRecord> {
    const { refundedAmount, ...rest } = changes;
    const row = await this.prisma.order.update({
      where: { id },
      data: {
        ...rest,
        ...(refundedAmount === undefined ? {} : { refundedAmount: new Prisma.Decimal(refundedAmount) }),
      },
      include: withItems,
    });
    return toRecord(row);
  }

  async addHistory(entry: NewHistoryEntry): Promise<void> {
    await this.prisma.orderStatusHistory.create({
      data: {
        orderId: entry.orderId,
        fromStatus: entry.from,
        toStatus: entry.to,
        reason: entry.reason,
        source: entry.source,
        sourceEventId: entry.sourceEventId,
        actorId: entry.actorId,
      },
    });
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
