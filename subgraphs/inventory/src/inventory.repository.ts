import { randomUUID } from 'node:crypto';
import { isRecordNotFound, newestFirst, olderThan, refuseDuplicates } from '@shop/db';
import {
  type Enqueue,
  noteDuplicate,
  type OutboxTransactionOptions,
  repositoryTransaction,
} from '@shop/events';
import {
  type Inventory,
  type OrderStockState,
  Prisma,
  type PrismaClient,
  type StockReservation,
  type StockTransaction,
} from './generated/prisma/client';

/** An inventory item as the rest of the subgraph sees it (no Prisma types). */
export interface InventoryRecord {
  id: string;
  productId: string;
  sku: string;
  availableQuantity: number;
  reservedQuantity: number;
  totalQuantity: number;
  reorderLevel: number;
  reorderQuantity: number;
  /** A low-stock alert was published for the current dip (see schema.prisma). */
  lowStockAlerted: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export type StockTransactionType =
  | 'PURCHASE'
  | 'SALE'
  | 'RETURN'
  | 'DAMAGE'
  | 'ADJUSTMENT'
  | 'RESERVATION'
  | 'RELEASE';

export interface StockTransactionRecord {
  id: string;
  inventoryId: string;
  type: StockTransactionType;
  quantity: number;
  reference: string | null;
  notes: string | null;
  availableAfter: number;
  reservedAfter: number;
  totalAfter: number;
  createdAt: Date;
}

export type ReservationStatus = 'ACTIVE' | 'EXPIRED' | 'COMPLETED' | 'CANCELLED';

export interface ReservationRecord {
  id: string;
  inventoryId: string;
  orderId: string;
  userId: string;
  quantity: number;
  status: ReservationStatus;
  expiresAt: Date;
  completedAt: Date | null;
}

/** What this subgraph knows of one order (its row is the order's lock). */
export interface OrderStateRecord {
  orderId: string;
  placement: 'RESERVED' | 'FAILED' | 'SKIPPED' | null;
  failureReason: string | null;
  cancelledAt: Date | null;
  cancelReason: string | null;
  paymentAuthorizedAt: Date | null;
}

/** A `Product` reference of another subgraph that this one extends. */
export interface ProductReference {
  id: string;
}

/** One change of an item's quantities: the three deltas, and how the audit trail records it. */
export interface StockChange {
  type: StockTransactionType;
  availableDelta: number;
  reservedDelta: number;
  totalDelta: number;
  /** The signed quantity the transaction row shows. */
  quantity: number;
  reference: string | null;
  notes: string | null;
}

export interface NewInventory {
  productId: string;
  sku: string;
  reorderLevel: number;
  reorderQuantity: number;
}

export interface InventoryChanges {
  sku?: string;
  reorderLevel?: number;
  reorderQuantity?: number;
}

export interface NewReservation {
  inventoryId: string;
  orderId: string;
  userId: string;
  quantity: number;
  expiresAt: Date;
}

/** Where a keyset page starts: strictly after this (createdAt, id), newest first. */
export interface Position {
  createdAt: Date;
  id: string;
}

function toRecord(row: Inventory): InventoryRecord {
  return {
    id: row.id,
    productId: row.productId,
    sku: row.sku,
    availableQuantity: row.availableQuantity,
    reservedQuantity: row.reservedQuantity,
    totalQuantity: row.totalQuantity,
    reorderLevel: row.reorderLevel,
    reorderQuantity: row.reorderQuantity,
    lowStockAlerted: row.lowStockAlerted,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function toTransaction(row: StockTransaction): StockTransactionRecord {
  return {
    id: row.id,
    inventoryId: row.inventoryId,
    type: row.type,
    quantity: row.quantity,
    reference: row.reference,
    notes: row.notes,
    availableAfter: row.availableAfter,
    reservedAfter: row.reservedAfter,
    totalAfter: row.totalAfter,
    createdAt: row.createdAt,
  };
}

function toReservation(row: StockReservation): ReservationRecord {
  return {
    id: row.id,
    inventoryId: row.inventoryId,
    orderId: row.orderId,
    userId: row.userId,
    quantity: row.quantity,
    status: row.status,
    expiresAt: row.expiresAt,
    completedAt: row.completedAt,
  };
}

function toOrderState(row: OrderStockState): OrderStateRecord {
  return {
    orderId: row.orderId,
    placement: row.placement,
    failureReason: row.failureReason,
    cancelledAt: row.cancelledAt,
    cancelReason: row.cancelReason,
    paymentAuthorizedAt: row.paymentAuthorizedAt,
  };
}

type Db = PrismaClient | Prisma.TransactionClient;

// The hot paths of the event handlers (lock the order, lock its items, change an item) are one statement each
// in raw SQL: every statement is a round trip and Prisma work in a process shared by every handler, and the
// item locks are held until commit, so fewer statements after them means shorter waits on a busy product.

/** An inventory row as `InventoryRecord`, selected by raw SQL. */
const itemColumns = Prisma.sql`
  id::text AS id, product_id::text AS "productId", sku, available_quantity AS "availableQuantity",
  reserved_quantity AS "reservedQuantity", total_quantity AS "totalQuantity", reorder_level AS "reorderLevel",
  reorder_quantity AS "reorderQuantity", low_stock_alerted AS "lowStockAlerted", created_at AS "createdAt",
  updated_at AS "updatedAt"`;

/** An order_stock_states row as `OrderStateRecord`, selected (or returned) by raw SQL. */
const orderStateColumns = Prisma.sql`
  order_id::text AS "orderId", placement::text AS placement, failure_reason AS "failureReason",
  cancelled_at AS "cancelledAt", cancel_reason AS "cancelReason", payment_authorized_at AS "paymentAuthorizedAt"`;

const dateOf = (value: Date | string): Date => (value instanceof Date ? value : new Date(value));
const optionalDateOf = (value: Date | string | null): Date | null => (value === null ? null : dateOf(value));

function itemOfRow(row: InventoryRecord): InventoryRecord {
  return {
    ...row,
    availableQuantity: Number(row.availableQuantity),
    reservedQuantity: Number(row.reservedQuantity),
    totalQuantity: Number(row.totalQuantity),
    reorderLevel: Number(row.reorderLevel),
    reorderQuantity: Number(row.reorderQuantity),
    createdAt: dateOf(row.createdAt),
    updatedAt: dateOf(row.updatedAt),
  };
}

function orderStateOfRow(row: OrderStateRecord): OrderStateRecord {
  return {
    ...row,
    cancelledAt: optionalDateOf(row.cancelledAt),
    paymentAuthorizedAt: optionalDateOf(row.paymentAuthorizedAt),
  };
}

/**
 * The inventory tables; the only code of this subgraph that talks to Prisma. Methods that lock rows only
 * make sense on a repository bound to a transaction (`transaction(...)`).
 */
export class InventoryRepository {
  constructor(
    private readonly prisma: Db,
    private readonly outbox?: OutboxTransactionOptions,
  ) {}

  /**
   * Runs `work` in one database transaction with a repository bound to it and `enqueue` for its events: the
   * rows, the processed-event mark and the events commit together (the transactional outbox) or not at all.
   */
  transaction<R>(work: (repository: InventoryRepository, enqueue: Enqueue) => Promise<R>): Promise<R> {
    return repositoryTransaction(this.prisma, this.outbox, (tx) => new InventoryRepository(tx), work);
  }

  // --- orders ---

  /**
   * Marks the event processed by `group` in this transaction and, only when it was not processed before,
   * returns the order's state row, created when missing and locked until the transaction ends: every handler
   * of an order's events takes it first, so they run one after another per order. One statement: the claim,
   * then the insert or the (no-op) update of an existing row, which locks it and returns it as it is now (a
   * locker that waited sees what the previous holder committed). Null for a duplicate (nothing locked).
   */
  async claimEventAndLockOrder(
    group: string,
    eventId: string,
    orderId: string,
  ): Promise<OrderStateRecord | null> {
    const [row] = await this.prisma.$queryRaw<OrderStateRecord[]>`
      WITH claimed AS (
        INSERT INTO processed_events (consumer_group, event_id) VALUES (${group}, ${eventId}::uuid)
        ON CONFLICT DO NOTHING
        RETURNING 1
      )
      INSERT INTO order_stock_states (order_id, updated_at)
      SELECT ${orderId}::uuid, now() WHERE EXISTS (SELECT 1 FROM claimed)
      ON CONFLICT (order_id) DO UPDATE SET updated_at = order_stock_states.updated_at
      RETURNING ${orderStateColumns}`;
    if (!row) {
      noteDuplicate();
      return null;
    }
    return orderStateOfRow(row);
  }

  /**
   * The order's reservations written and its placement set to RESERVED, in one statement (the order's state
   * row is locked by the caller). Their times are the statement's (clock_timestamp(), as Prisma's client-side
   * times were), not the transaction's start: placed → reserved is read from them.
   */
  async reserveOrder(orderId: string, reservations: readonly NewReservation[]): Promise<void> {
    const rows = JSON.stringify(
      reservations.map((r) => ({
        id: randomUUID(),
        inventoryId: r.inventoryId,
        orderId: r.orderId,
        userId: r.userId,
        quantity: r.quantity,
        expiresAt: r.expiresAt.toISOString(),
      })),
    );
    await this.prisma.$executeRaw`
      WITH held AS (
        INSERT INTO stock_reservations
          (id, inventory_id, order_id, user_id, quantity, expires_at, created_at, updated_at)
        SELECT (r->>'id')::uuid, (r->>'inventoryId')::uuid, (r->>'orderId')::uuid, (r->>'userId')::uuid,
               (r->>'quantity')::int, (r->>'expiresAt')::timestamptz, clock_timestamp(), clock_timestamp()
        FROM jsonb_array_elements(${rows}::jsonb) AS r
      )
      UPDATE order_stock_states SET placement = 'RESERVED', updated_at = now() WHERE order_id = ${orderId}::uuid`;
  }

  /**
   * Records that the order's payment was authorised and returns its reservations, in one statement (the
   * order's state row is locked by the caller; the reservations are read as committed before the statement,
   * which this transaction's own earlier writes to them are part of).
   */
  async markPaymentAuthorized(orderId: string, at: Date): Promise<ReservationRecord[]> {
    const rows = await this.prisma.$queryRaw<ReservationRecord[]>`
      WITH marked AS (
        UPDATE order_stock_states SET payment_authorized_at = ${at.toISOString()}::timestamptz, updated_at = now()
        WHERE order_id = ${orderId}::uuid
      )
      SELECT id::text AS id, inventory_id::text AS "inventoryId", order_id::text AS "orderId",
             user_id::text AS "userId", quantity, status::text AS status, expires_at AS "expiresAt",
             completed_at AS "completedAt"
      FROM stock_reservations WHERE order_id = ${orderId}::uuid ORDER BY inventory_id`;
    return rows.map((row) => ({
      ...row,
      quantity: Number(row.quantity),
      expiresAt: dateOf(row.expiresAt),
      completedAt: optionalDateOf(row.completedAt),
    }));
  }

  async updateOrder(
    orderId: string,
    changes: Partial<Omit<OrderStateRecord, 'orderId'>>,
  ): Promise<OrderStateRecord> {
    return toOrderState(await this.prisma.orderStockState.update({ where: { orderId }, data: changes }));
  }

  async findOrderState(orderId: string): Promise<OrderStateRecord | null> {
    const row = await this.prisma.orderStockState.findUnique({ where: { orderId } });
    return row === null ? null : toOrderState(row);
  }

  /**
   * Orders with an ACTIVE reservation past its expiry, up to `limit`, their state rows locked. Rows another
   * transaction holds (another instance's expiry run, or an event handler of that order) are skipped, not
   * waited for: two instances never claim the same order.
   */
  async claimOrdersWithExpiredReservations(limit: number): Promise<string[]> {
    const rows = await this.prisma.$queryRaw<{ order_id: string }[]>`
      SELECT s.order_id::text AS order_id FROM order_stock_states s
      WHERE EXISTS (
        SELECT 1 FROM stock_reservations r
        WHERE r.order_id = s.order_id AND r.status = 'ACTIVE' AND r.expires_at <= now()
      )
      ORDER BY s.order_id
      LIMIT ${limit}
      FOR UPDATE OF s SKIP LOCKED`;
    return rows.map((row) => row.order_id);
  }

  // --- reservations ---

  /** The order's reservations (a fresh read: what committed before this statement). */
  async reservationsOfOrders(orderIds: readonly string[]): Promise<ReservationRecord[]> {
    if (orderIds.length === 0) return [];
    const rows = await this.prisma.stockReservation.findMany({
      where: { orderId: { in: [...orderIds] } },
      orderBy: [{ orderId: 'asc' }, { inventoryId: 'asc' }],
    });
    return rows.map(toReservation);
  }

  async setReservationStatus(
    ids: readonly string[],
    status: ReservationStatus,
    completedAt: Date | null = null,
  ): Promise<void> {
    if (ids.length === 0) return;
    // Raw SQL: on every payment, and Prisma's query compiler is work per call that raw SQL skips.
    await this.prisma.$executeRaw`
      UPDATE stock_reservations SET status = ${status}::reservation_status, completed_at = ${completedAt?.toISOString() ?? null}::timestamptz,
             updated_at = now()
      WHERE id = ANY(${[...ids]}::uuid[])`;
  }

  // --- inventory items ---

  /** Locks the items (FOR UPDATE, in id order so concurrent transactions never deadlock) and reads them. */
  async lockItems(ids: readonly string[]): Promise<InventoryRecord[]> {
    if (ids.length === 0) return [];
    // Postgres locks the rows as the sorted result is read (LockRows above Sort): in id order, whatever
    // order the caller listed them in.
    const rows = await this.prisma.$queryRaw<InventoryRecord[]>`
      SELECT ${itemColumns} FROM inventory WHERE id = ANY(${[...ids]}::uuid[]) ORDER BY id FOR UPDATE`;
    return rows.map(itemOfRow);
  }

  /** Locks the items of these products (as `lockItems`); products without an item are absent. */
  async lockItemsOfProducts(productIds: readonly string[]): Promise<InventoryRecord[]> {
    if (productIds.length === 0) return [];
    const rows = await this.prisma.$queryRaw<InventoryRecord[]>`
      SELECT ${itemColumns} FROM inventory WHERE product_id = ANY(${[...productIds]}::uuid[])
      ORDER BY id FOR UPDATE`;
    return rows.map(itemOfRow);
  }

  /**
   * Applies one change to a locked item and records it in the audit trail, with the quantities after it.
   * Postgres' CHECK constraints refuse any change that breaks the stock equation or goes negative.
   */
  async applyChange(inventoryId: string, change: StockChange): Promise<InventoryRecord> {
    // The update and its audit row in one statement; clock_timestamp(), not the transaction's start, so the
    // changes of one transaction keep their order in the trail (as Prisma's client-side times did).
    const [row] = await this.prisma.$queryRaw<InventoryRecord[]>`
      WITH changed AS (
        UPDATE inventory SET
          available_quantity = available_quantity + ${change.availableDelta}::int,
          reserved_quantity = reserved_quantity + ${change.reservedDelta}::int,
          total_quantity = total_quantity + ${change.totalDelta}::int,
          updated_at = clock_timestamp()
        WHERE id = ${inventoryId}::uuid
        RETURNING *
      ), audit AS (
        INSERT INTO stock_transactions
          (id, inventory_id, type, quantity, reference, notes, available_after, reserved_after, total_after, created_at)
        SELECT ${randomUUID()}::uuid, id, ${change.type}::stock_transaction_type, ${change.quantity}::int,
               ${change.reference}::text, ${change.notes}::text, available_quantity, reserved_quantity, total_quantity,
               clock_timestamp()
        FROM changed
      )
      SELECT ${itemColumns} FROM changed`;
    if (!row) throw new Error(`inventory item ${inventoryId} not found`);
    return itemOfRow(row);
  }

  async setLowStockAlerted(inventoryId: string, alerted: boolean): Promise<InventoryRecord> {
    return toRecord(
      await this.prisma.inventory.update({ where: { id: inventoryId }, data: { lowStockAlerted: alerted } }),
    );
  }

  /** @throws UniqueViolation when the product or the SKU already has an item. Starts with no units. */
  async create(item: NewInventory): Promise<InventoryRecord> {
    return toRecord(
      await refuseDuplicates(() =>
        this.prisma.inventory.create({
          data: { ...item, availableQuantity: 0, reservedQuantity: 0, totalQuantity: 0 },
        }),
      ),
    );
  }

  /** The changed item, or null when none has this id. @throws UniqueViolation on a taken SKU. */
  async update(id: string, changes: InventoryChanges): Promise<InventoryRecord | null> {
    try {
      return toRecord(
        await refuseDuplicates(() => this.prisma.inventory.update({ where: { id }, data: changes })),
      );
    } catch (error) {
      if (isRecordNotFound(error)) return null;
      throw error;
    }
  }

  async findById(id: string): Promise<InventoryRecord | null> {
    const row = await this.prisma.inventory.findUnique({ where: { id } });
    return row === null ? null : toRecord(row);
  }

  /** Every item among `ids` that exists, in one query. */
  async findByIds(ids: readonly string[]): Promise<InventoryRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.prisma.inventory.findMany({
      where: { id: { in: [...ids] } },
      orderBy: { id: 'asc' },
    });
    return rows.map(toRecord);
  }

  /** The items of these products that exist, in one query. */
  async findByProductIds(productIds: readonly string[]): Promise<InventoryRecord[]> {
    if (productIds.length === 0) return [];
    const rows = await this.prisma.inventory.findMany({ where: { productId: { in: [...productIds] } } });
    return rows.map(toRecord);
  }

  async findByProductId(productId: string): Promise<InventoryRecord | null> {
    const row = await this.prisma.inventory.findUnique({ where: { productId } });
    return row === null ? null : toRecord(row);
  }

  /** Up to `take` items newest first, strictly after `position` when given. */
  async list(
    filter: { lowStockOnly: boolean },
    take: number,
    position?: Position,
  ): Promise<InventoryRecord[]> {
    if (filter.lowStockOnly) {
      // Comparing two columns needs SQL; the ids then go through the typed client.
      const rows = await this.prisma.$queryRaw<{ id: string }[]>`
        SELECT id::text AS id FROM inventory
        WHERE available_quantity <= reorder_level
          AND (${position === undefined}
               OR (created_at, id) < (${position?.createdAt ?? new Date(0)}::timestamptz, ${position?.id ?? '00000000-0000-0000-0000-000000000000'}::uuid))
        ORDER BY created_at DESC, id DESC
        LIMIT ${take}`;
      const byId = new Map((await this.findByIds(rows.map((row) => row.id))).map((item) => [item.id, item]));
      return rows.flatMap((row) => byId.get(row.id) ?? []);
    }
    const rows = await this.prisma.inventory.findMany({
      where: olderThan(position),
      orderBy: newestFirst(),
      take,
    });
    return rows.map(toRecord);
  }

  /** Up to `take` of the item's transactions newest first, strictly after `position` when given. */
  async listTransactions(
    inventoryId: string,
    take: number,
    position?: Position,
  ): Promise<StockTransactionRecord[]> {
    const rows = await this.prisma.stockTransaction.findMany({
      where: { inventoryId, ...olderThan(position) },
      orderBy: newestFirst(),
      take,
    });
    return rows.map(toTransaction);
  }

  /** Creates the item with its initial units unless the product has one already (the demo seed). */
  async createIfMissing(item: NewInventory, units: number, notes: string): Promise<boolean> {
    const existing = await this.prisma.inventory.findFirst({
      where: { OR: [{ productId: item.productId }, { sku: item.sku }] },
    });
    if (existing) return false;
    const created = await this.create(item);
    if (units > 0) {
      await this.applyChange(created.id, {
        type: 'PURCHASE',
        availableDelta: units,
        reservedDelta: 0,
        totalDelta: units,
        quantity: units,
        reference: 'seed',
        notes,
      });
    }
    return true;
  }
}
