import { UniqueViolation } from '@shop/db';
import type { Enqueue, EventEnvelope } from '@shop/events';
import {
  AppError,
  badUserInput,
  type Connection,
  conflict,
  type Logger,
  newestFirstPage,
  notFound,
  type PageArgs,
  parseInput,
  requireAdmin,
  type Viewer,
} from '@shop/kit';
import type { ProductCatalog } from '@shop/runtime';
import { z } from 'zod';
import {
  lowStock,
  type ReleaseReason,
  type ReservationFailure,
  released,
  reservationFailed,
  reserved,
  stockChanged,
} from './events/publish';
import type {
  InventoryChanges,
  InventoryRecord,
  InventoryRepository,
  OrderStateRecord,
  ReservationRecord,
  StockChange,
  StockTransactionRecord,
} from './inventory.repository';

export interface InventorySettings {
  /** How long a reservation holds stock for an order awaiting payment. */
  reservationTtlMs: number;
}

/** The consumer group whose processed events the handlers record. */
export const INVENTORY_GROUP = 'inventory';

/** A `LowStockAlert` as the subscription yields it. */
export interface LowStockAlertRecord {
  inventoryId: string;
  availableQuantity: number;
  reorderLevel: number;
  reorderQuantity: number;
  occurredAt: string;
}

export interface CreateInventoryInput {
  productId: string;
  sku: string;
  availableQuantity: number;
  reorderLevel?: number | null | undefined;
  reorderQuantity?: number | null | undefined;
}

export interface UpdateInventoryInput {
  sku?: string | null | undefined;
  reorderLevel?: number | null | undefined;
  reorderQuantity?: number | null | undefined;
}

export type AdjustmentType = 'PURCHASE' | 'SALE' | 'RETURN' | 'DAMAGE' | 'ADJUSTMENT';

export interface AdjustStockInput {
  quantity: number;
  type: AdjustmentType;
  reference?: string | null | undefined;
  notes?: string | null | undefined;
}

const MAX_UNITS = 1_000_000;
const id = z.guid('must be a UUID');
const sku = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z0-9-]{1,64}$/, 'must be 1 to 64 letters, digits or dashes');
const units = z.number().int().min(0, 'must not be negative').max(MAX_UNITS, `must be at most ${MAX_UNITS}`);
const reorderQuantity = z
  .number()
  .int()
  .min(1, 'must be at least 1')
  .max(MAX_UNITS, `must be at most ${MAX_UNITS}`);
const text = (max: number) =>
  z
    .string()
    .trim()
    .max(max, `must be at most ${max} characters`)
    .nullish()
    .transform((value) => (value ? value : null));

export const createInventorySchema = z.object({
  productId: id,
  sku,
  availableQuantity: units,
  reorderLevel: units.nullish(),
  reorderQuantity: reorderQuantity.nullish(),
});
// null is refused where an item cannot lack the field; a left-out field stays as it is.
export const updateInventorySchema = z.object({
  sku: sku.optional(),
  reorderLevel: units.optional(),
  reorderQuantity: reorderQuantity.optional(),
});
/** Which sign each kind of adjustment takes: PURCHASE/RETURN add, SALE/DAMAGE remove, ADJUSTMENT either. */
const signOf: Record<AdjustmentType, 1 | -1 | 0> = {
  PURCHASE: 1,
  RETURN: 1,
  SALE: -1,
  DAMAGE: -1,
  ADJUSTMENT: 0,
};
export const adjustStockSchema = z
  .object({
    quantity: z
      .number()
      .int()
      .refine((q) => q !== 0, 'must not be 0')
      .refine((q) => Math.abs(q) <= MAX_UNITS, `must be between -${MAX_UNITS} and ${MAX_UNITS}`),
    type: z.enum(['PURCHASE', 'SALE', 'RETURN', 'DAMAGE', 'ADJUSTMENT']),
    reference: text(200),
    notes: text(2000),
  })
  .superRefine((input, ctx) => {
    const sign = signOf[input.type];
    if (sign !== 0 && Math.sign(input.quantity) !== sign) {
      ctx.addIssue({
        code: 'custom',
        path: ['quantity'],
        message: `must be ${sign > 0 ? 'positive' : 'negative'} for ${input.type}`,
      });
    }
  });
const idArg = (name: string) => z.object({ [name]: id });

/** A page of items or transactions. */
export type ItemList = Connection<InventoryRecord>;
export type TransactionList = Connection<StockTransactionRecord>;

/** An order line, summed per product. */
interface Line {
  productId: string;
  quantity: number;
}

/**
 * The inventory's rules: who may see and change stock, how orders reserve it and payments confirm or release
 * it, and the low-stock alerts. Knows nothing of GraphQL; throws coded AppErrors.
 *
 * Every quantity change goes through `change()`: the item row is locked, the change and its audit row are
 * written, `inventory.stock-changed` (and maybe `inventory.low-stock`) enqueued, all in the caller's
 * transaction. Handlers of an order's events lock the order's state row first, then its items in id order.
 */
export class InventoryService {
  constructor(
    private readonly repository: InventoryRepository,
    private readonly catalog: ProductCatalog,
    private readonly settings: InventorySettings,
    private readonly logger: Logger,
  ) {}

  // --- queries ---

  async inventoryItems(
    viewer: Viewer | undefined,
    args: PageArgs & { lowStockOnly?: boolean | null | undefined },
  ): Promise<ItemList> {
    requireAdmin(viewer);
    return newestFirstPage(args, (take, after) =>
      this.repository.list({ lowStockOnly: args.lowStockOnly === true }, take, after),
    );
  }

  /** Anyone may see a product's stock levels (the shop shows "in stock"). */
  async inventoryByProduct(productId: string): Promise<InventoryRecord | null> {
    parseInput(idArg('productId'), { productId });
    return this.repository.findByProductId(productId);
  }

  /** The audit trail of an item, newest first (admins only). */
  async transactions(
    viewer: Viewer | undefined,
    inventoryId: string,
    args: PageArgs,
  ): Promise<TransactionList> {
    requireAdmin(viewer);
    return newestFirstPage(args, (take, after) => this.repository.listTransactions(inventoryId, take, after));
  }

  // --- admin mutations ---

  /**
   * Stock for a product of the catalogue, active or not yet published: the catalogue is asked with the
   * admin's own `token`, as products shows inactive products to admins only.
   */
  async createInventory(
    viewer: Viewer | undefined,
    input: CreateInventoryInput,
    token: string | undefined,
  ): Promise<InventoryRecord> {
    const admin = requireAdmin(viewer);
    const valid = parseInput(createInventorySchema, input);
    const productId = valid.productId.toLowerCase();
    await this.requireProduct(productId, token);
    const item = await this.repository
      .transaction(async (repository, enqueue) => {
        const created = await repository.create({
          productId,
          sku: valid.sku,
          reorderLevel: valid.reorderLevel ?? 10,
          reorderQuantity: valid.reorderQuantity ?? 50,
        });
        // The initial units are a purchase like any other: the audit trail explains every unit.
        if (valid.availableQuantity === 0) return this.evaluateLowStock(repository, enqueue, created);
        return this.change(repository, enqueue, created, {
          type: 'PURCHASE',
          availableDelta: valid.availableQuantity,
          reservedDelta: 0,
          totalDelta: valid.availableQuantity,
          quantity: valid.availableQuantity,
          reference: null,
          notes: 'Initial stock',
        });
      })
      .catch((error: unknown) => {
        if (error instanceof UniqueViolation) {
          throw conflict('The product or the SKU already has an inventory item', { field: 'productId' });
        }
        throw error;
      });
    this.logger.info(
      { inventoryId: item.id, productId: item.productId, by: admin.userId },
      'inventory created',
    );
    return item;
  }

  /**
   * NOT_FOUND unless the catalogue knows the product. A catalogue that does not answer throws
   * ProductCatalogUnavailable, which the client gets as SERVICE_UNAVAILABLE (retryable; details logged).
   */
  private async requireProduct(productId: string, token: string | undefined): Promise<void> {
    const found = (await this.catalog.products([productId], { token })).has(productId);
    if (!found) {
      throw new AppError('NOT_FOUND', `Product ${productId} not found`, {
        id: productId,
        field: 'productId',
      });
    }
  }

  async updateInventory(
    viewer: Viewer | undefined,
    inventoryId: string,
    input: UpdateInventoryInput,
  ): Promise<InventoryRecord> {
    const admin = requireAdmin(viewer);
    parseInput(idArg('id'), { id: inventoryId });
    const valid = parseInput(updateInventorySchema, input);
    const changes: InventoryChanges = {
      ...(valid.sku === undefined ? {} : { sku: valid.sku }),
      ...(valid.reorderLevel === undefined ? {} : { reorderLevel: valid.reorderLevel }),
      ...(valid.reorderQuantity === undefined ? {} : { reorderQuantity: valid.reorderQuantity }),
    };
    const item = await this.repository
      .transaction(async (repository, enqueue) => {
        const [locked] = await repository.lockItems([inventoryId]);
        if (!locked) return null;
        const updated = await repository.update(inventoryId, changes);
        // A new reorder level can put the item below it (or lift it out): that is a crossing too.
        return updated && this.evaluateLowStock(repository, enqueue, updated);
      })
      .catch((error: unknown) => {
        if (error instanceof UniqueViolation)
          throw conflict(`Another item has SKU ${valid.sku}`, { field: 'sku' });
        throw error;
      });
    if (item === null) throw notFound('InventoryItem', inventoryId);
    this.logger.info({ inventoryId, fields: Object.keys(changes), by: admin.userId }, 'inventory updated');
    return item;
  }

  async adjustStock(
    viewer: Viewer | undefined,
    inventoryId: string,
    input: AdjustStockInput,
  ): Promise<InventoryRecord> {
    const admin = requireAdmin(viewer);
    parseInput(idArg('inventoryId'), { inventoryId });
    const valid = parseInput(adjustStockSchema, input);
    const item = await this.repository.transaction(async (repository, enqueue) => {
      const [locked] = await repository.lockItems([inventoryId]);
      if (!locked) throw notFound('InventoryItem', inventoryId);
      // Reserved units belong to orders: an adjustment can only take what is available.
      if (locked.availableQuantity + valid.quantity < 0) {
        throw badUserInput(
          `Only ${locked.availableQuantity} units are available; cannot remove ${-valid.quantity}`,
          { field: 'quantity' },
        );
      }
      return this.change(repository, enqueue, locked, {
        type: valid.type,
        availableDelta: valid.quantity,
        reservedDelta: 0,
        totalDelta: valid.quantity,
        quantity: valid.quantity,
        reference: valid.reference,
        notes: valid.notes,
      });
    });
    this.logger.info(
      { inventoryId, type: valid.type, quantity: valid.quantity, by: admin.userId },
      'stock adjusted',
    );
    return item;
  }

  // --- order and payment events ---

  /** `order.placed`: reserve every line, all or nothing, or say which products fell short. */
  async onOrderPlaced(event: EventEnvelope<'order.placed'>): Promise<void> {
    const { orderId, userId, items } = event.data;
    await this.onceForOrder(event, orderId, async (repository, enqueue, state) => {
      if (state.placement !== null) return; // a replay of the placement under another event id
      if (state.cancelledAt !== null) {
        // The cancel overtook the placement: nothing to hold for an order that no longer exists.
        await repository.updateOrder(orderId, { placement: 'SKIPPED' });
        return;
      }
      const lines = sumLines(items);
      const locked = await repository.lockItemsOfProducts(lines.map((line) => line.productId));
      const byProduct = new Map(locked.map((item) => [item.productId, item]));
      const unknown = lines.filter((line) => !byProduct.has(line.productId)).map((line) => line.productId);
      const short = lines
        .filter((line) => (byProduct.get(line.productId)?.availableQuantity ?? 0) < line.quantity)
        .map((line) => line.productId);
      if (unknown.length > 0 || short.length > 0) {
        const reason: ReservationFailure = unknown.length > 0 ? 'UNKNOWN_PRODUCT' : 'INSUFFICIENT_STOCK';
        await repository.updateOrder(orderId, { placement: 'FAILED', failureReason: reason });
        await enqueue(
          reservationFailed(orderId, reason, unknown.length > 0 ? unknown : short, event.correlationId),
        );
        return;
      }
      const expiresAt = new Date(Date.now() + this.settings.reservationTtlMs);
      const held: { inventoryId: string; productId: string; quantity: number }[] = [];
      for (const item of [...locked].sort((a, b) => a.id.localeCompare(b.id))) {
        const line = lines.find((l) => l.productId === item.productId);
        if (!line) continue;
        await this.change(repository, enqueue, item, {
          type: 'RESERVATION',
          availableDelta: -line.quantity,
          reservedDelta: line.quantity,
          totalDelta: 0,
          quantity: -line.quantity,
          reference: orderId,
          notes: 'Held for the order until it is paid',
        });
        held.push({ inventoryId: item.id, productId: item.productId, quantity: line.quantity });
      }
      await repository.reserveOrder(
        orderId,
        held.map((h) => ({ inventoryId: h.inventoryId, orderId, userId, quantity: h.quantity, expiresAt })),
      );
      await enqueue(reserved(orderId, held, expiresAt, event.correlationId));
      // The payment overtook the placement: confirm what was just held.
      if (state.paymentAuthorizedAt !== null) {
        await this.confirmOrder(repository, enqueue, orderId, event.correlationId);
      }
    });
  }

  /** `order.cancelled`: release what the order holds; remembered when it overtakes the placement. */
  async onOrderCancelled(event: EventEnvelope<'order.cancelled'>): Promise<void> {
    const { orderId, reason } = event.data;
    await this.onceForOrder(event, orderId, async (repository, enqueue, state) => {
      if (state.cancelledAt === null) {
        await repository.updateOrder(orderId, { cancelledAt: new Date(), cancelReason: reason });
      }
      await this.releaseOrder(
        repository,
        enqueue,
        orderId,
        'CANCELLED',
        'ORDER_CANCELLED',
        event.correlationId,
      );
      await this.returnSoldUnits(repository, enqueue, orderId);
    });
  }

  /** `payment.failed`: release what the order holds. */
  async onPaymentFailed(event: EventEnvelope<'payment.failed'>): Promise<void> {
    const { orderId } = event.data;
    await this.onceForOrder(event, orderId, async (repository, enqueue) => {
      await this.releaseOrder(
        repository,
        enqueue,
        orderId,
        'CANCELLED',
        'PAYMENT_FAILED',
        event.correlationId,
      );
    });
  }

  /**
   * `payment.authorized`: the held units are sold (reserved and total down, a SALE each). When the hold was
   * released meanwhile (expired, or a failed earlier payment), the units are taken again if available;
   * otherwise `inventory.reservation-failed` tells payments to cancel or refund.
   */
  async onPaymentAuthorized(event: EventEnvelope<'payment.authorized'>): Promise<void> {
    const { orderId } = event.data;
    await this.onceForOrder(event, orderId, async (repository, enqueue, state) => {
      if (state.placement === null) {
        // The payment overtook the placement: the placement confirms at once when it arrives.
        await repository.updateOrder(orderId, { paymentAuthorizedAt: new Date() });
        return;
      }
      if (state.placement !== 'RESERVED') {
        const reason = state.cancelledAt !== null ? 'ORDER_CANCELLED' : state.failureReason;
        await enqueue(
          reservationFailed(
            orderId,
            (reason ?? 'INSUFFICIENT_STOCK') as ReservationFailure,
            [],
            event.correlationId,
          ),
        );
        return;
      }
      const reservations = await repository.markPaymentAuthorized(orderId, new Date());
      await this.confirmOrder(
        repository,
        enqueue,
        orderId,
        event.correlationId,
        state.cancelledAt !== null,
        reservations,
      );
    });
  }

  // --- the reservation expiry job ---

  /**
   * Releases the reservations that expired (status EXPIRED, `inventory.released` with reason EXPIRED), up to
   * `limit` orders in one transaction; returns how many orders and reservations it released. Safe with several
   * instances: each claims orders with FOR UPDATE SKIP LOCKED, so every order is released once.
   */
  async expireReservations(limit: number): Promise<{ orders: number; reservations: number }> {
    const expired = await this.repository.transaction(async (repository, enqueue) => {
      const orderIds = await repository.claimOrdersWithExpiredReservations(limit);
      if (orderIds.length === 0) return { orders: 0, reservations: 0 };
      const now = Date.now();
      // Read after the claim: what another instance released before we locked is no longer ACTIVE.
      const due = (await repository.reservationsOfOrders(orderIds)).filter(
        (r) => r.status === 'ACTIVE' && r.expiresAt.getTime() <= now,
      );
      // All items of the batch locked at once, in id order (no deadlock with event handlers).
      const items = new Map(
        (await repository.lockItems([...new Set(due.map((r) => r.inventoryId))])).map((item) => [
          item.id,
          item,
        ]),
      );
      const orders = new Set<string>();
      for (const reservation of due) {
        const item = items.get(reservation.inventoryId);
        if (!item) continue;
        items.set(
          item.id,
          await this.change(repository, enqueue, item, releaseChange(reservation, 'EXPIRED')),
        );
        orders.add(reservation.orderId);
      }
      await repository.setReservationStatus(
        due.map((r) => r.id),
        'EXPIRED',
      );
      for (const orderId of orders) await enqueue(released(orderId, 'EXPIRED', undefined));
      return { orders: orders.size, reservations: due.length };
    });
    if (expired.orders > 0) this.logger.info(expired, 'expired reservations released');
    return expired;
  }

  // --- internals ---

  /**
   * Runs the handler once per event id, in one transaction with its writes and events, with the order's
   * state row locked first (every handler of an order's events takes it first, so they run one after another
   * per order); the claim and the lock are one statement.
   */
  private async onceForOrder(
    event: EventEnvelope,
    orderId: string,
    work: (repository: InventoryRepository, enqueue: Enqueue, state: OrderStateRecord) => Promise<void>,
  ): Promise<void> {
    await this.repository.transaction(async (repository, enqueue) => {
      const state = await repository.claimEventAndLockOrder(INVENTORY_GROUP, event.id, orderId);
      if (state === null) return; // processed before
      await work(repository, enqueue, state);
    });
  }

  /**
   * Confirms the order's ACTIVE reservations, or takes released ones again if stock allows. `known`: the
   * order's reservations when the caller has just read them in this transaction.
   */
  private async confirmOrder(
    repository: InventoryRepository,
    enqueue: Enqueue,
    orderId: string,
    correlationId: string,
    cancelled = false,
    known?: ReservationRecord[],
  ): Promise<void> {
    const reservations = known ?? (await repository.reservationsOfOrders([orderId]));
    const active = reservations.filter((r) => r.status === 'ACTIVE');
    const completed = reservations.filter((r) => r.status === 'COMPLETED');
    if (active.length === 0 && completed.length > 0) return; // sold already (another payment event)
    const items = new Map(
      (await repository.lockItems(reservations.map((r) => r.inventoryId))).map((item) => [item.id, item]),
    );
    if (active.length > 0) {
      // Held units, even past their expiry if the job has not released them yet: still ours to sell.
      for (const reservation of active) {
        const item = items.get(reservation.inventoryId);
        if (!item) continue;
        await this.change(repository, enqueue, item, {
          type: 'SALE',
          availableDelta: 0,
          reservedDelta: -reservation.quantity,
          totalDelta: -reservation.quantity,
          quantity: -reservation.quantity,
          reference: orderId,
          notes: 'Order paid',
        });
      }
      await repository.setReservationStatus(
        active.map((r) => r.id),
        'COMPLETED',
        new Date(),
      );
      return;
    }
    // Every hold was released before the payment came.
    const released = reservations;
    const failure: ReservationFailure = cancelled
      ? 'ORDER_CANCELLED'
      : released.some((r) => r.status === 'EXPIRED')
        ? 'EXPIRED_BEFORE_PAYMENT'
        : 'RESERVATION_RELEASED';
    const short = released.filter((r) => (items.get(r.inventoryId)?.availableQuantity ?? 0) < r.quantity);
    if (cancelled || short.length > 0) {
      const productIds = (cancelled ? released : short).flatMap((r) => {
        const productId = items.get(r.inventoryId)?.productId;
        return productId ? [productId] : [];
      });
      await enqueue(reservationFailed(orderId, failure, productIds, correlationId));
      return;
    }
    for (const reservation of released) {
      const item = items.get(reservation.inventoryId);
      if (!item) continue;
      await this.change(repository, enqueue, item, {
        type: 'SALE',
        availableDelta: -reservation.quantity,
        reservedDelta: 0,
        totalDelta: -reservation.quantity,
        quantity: -reservation.quantity,
        reference: orderId,
        notes: 'Order paid after its reservation was released: taken again from available stock',
      });
    }
    await repository.setReservationStatus(
      released.map((r) => r.id),
      'COMPLETED',
      new Date(),
    );
  }

  /** Releases the order's ACTIVE reservations (the order's state row is locked by the caller). */
  /**
   * A cancelled order whose payment was authorised had its units sold (SALE, total down), but they never left
   * the warehouse: orders cancels only before shipping. They go back to stock (a RETURN each, available and
   * total up) and the reservations become CANCELLED, so nothing is returned twice.
   */
  private async returnSoldUnits(
    repository: InventoryRepository,
    enqueue: Enqueue,
    orderId: string,
  ): Promise<void> {
    const sold = (await repository.reservationsOfOrders([orderId])).filter((r) => r.status === 'COMPLETED');
    if (sold.length === 0) return;
    const items = new Map(
      (await repository.lockItems(sold.map((r) => r.inventoryId))).map((item) => [item.id, item]),
    );
    for (const reservation of sold) {
      const item = items.get(reservation.inventoryId);
      if (!item) continue;
      items.set(
        item.id,
        await this.change(repository, enqueue, item, {
          type: 'RETURN',
          availableDelta: reservation.quantity,
          reservedDelta: 0,
          totalDelta: reservation.quantity,
          quantity: reservation.quantity,
          reference: orderId,
          notes: 'Order cancelled after payment: units back in stock',
        }),
      );
      await repository.setReservationStatus([reservation.id], 'CANCELLED', reservation.completedAt);
    }
  }

  private async releaseOrder(
    repository: InventoryRepository,
    enqueue: Enqueue,
    orderId: string,
    status: 'CANCELLED' | 'EXPIRED',
    reason: ReleaseReason,
    correlationId: string,
  ): Promise<void> {
    const active = (await repository.reservationsOfOrders([orderId])).filter((r) => r.status === 'ACTIVE');
    if (active.length === 0) return;
    const items = new Map(
      (await repository.lockItems(active.map((r) => r.inventoryId))).map((item) => [item.id, item]),
    );
    for (const reservation of active) {
      const item = items.get(reservation.inventoryId);
      if (item) await this.change(repository, enqueue, item, releaseChange(reservation, reason));
    }
    await repository.setReservationStatus(
      active.map((r) => r.id),
      status,
    );
    await enqueue(released(orderId, reason, correlationId));
  }

  /** One change of a locked item: the audit row, `inventory.stock-changed`, and the low-stock check. */
  private async change(
    repository: InventoryRepository,
    enqueue: Enqueue,
    item: InventoryRecord,
    change: StockChange,
  ): Promise<InventoryRecord> {
    const updated = await repository.applyChange(item.id, change);
    await enqueue(stockChanged(updated, change.type));
    return this.evaluateLowStock(repository, enqueue, updated);
  }

  /**
   * Publishes `inventory.low-stock` when available is at or below the reorder level and no alert was
   * published for this dip yet; re-arms the alert once available rises above the level again.
   */
  private async evaluateLowStock(
    repository: InventoryRepository,
    enqueue: Enqueue,
    item: InventoryRecord,
  ): Promise<InventoryRecord> {
    const low = item.availableQuantity <= item.reorderLevel;
    if (low && !item.lowStockAlerted) {
      const marked = await repository.setLowStockAlerted(item.id, true);
      await enqueue(lowStock(marked));
      return marked;
    }
    if (!low && item.lowStockAlerted) return repository.setLowStockAlerted(item.id, false);
    return item;
  }
}

/** The lines of an order summed per product (an order may list a product twice). */
function sumLines(items: readonly { productId: string; quantity: number }[]): Line[] {
  const sums = new Map<string, number>();
  for (const item of items) {
    const productId = item.productId.toLowerCase();
    sums.set(productId, (sums.get(productId) ?? 0) + item.quantity);
  }
  return [...sums].map(([productId, quantity]) => ({ productId, quantity }));
}

function releaseChange(reservation: ReservationRecord, reason: ReleaseReason): StockChange {
  return {
    type: 'RELEASE',
    availableDelta: reservation.quantity,
    reservedDelta: -reservation.quantity,
    totalDelta: 0,
    quantity: reservation.quantity,
    reference: reservation.orderId,
    notes: `Reservation released: ${reason}`,
  };
}
