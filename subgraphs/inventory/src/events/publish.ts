import type { EventDraft } from '@shop/events';
import type { InventoryRecord } from '../inventory.repository';

// The drafts the service enqueues in its transactions (the outbox publishes them after the commit).

/** `inventory.stock-changed`: every change of an item's quantities (the `inventoryChanged` feed). */
export function stockChanged(item: InventoryRecord, cause: string): EventDraft<'inventory.stock-changed'> {
  return {
    type: 'inventory.stock-changed',
    data: {
      inventoryId: item.id,
      productId: item.productId,
      sku: item.sku,
      availableQuantity: item.availableQuantity,
      reservedQuantity: item.reservedQuantity,
      totalQuantity: item.totalQuantity,
      cause,
    },
  };
}

/** `inventory.low-stock`: available fell to the reorder level or below (once per dip). */
export function lowStock(item: InventoryRecord): EventDraft<'inventory.low-stock'> {
  return {
    type: 'inventory.low-stock',
    data: {
      inventoryId: item.id,
      productId: item.productId,
      sku: item.sku,
      availableQuantity: item.availableQuantity,
      reorderLevel: item.reorderLevel,
      reorderQuantity: item.reorderQuantity,
    },
  };
}

/** `inventory.reserved`: every line of the order is held until `expiresAt`. */
export function reserved(
  orderId: string,
  reservations: { inventoryId: string; productId: string; quantity: number }[],
  expiresAt: Date,
  correlationId: string,
): EventDraft<'inventory.reserved'> {
  return {
    type: 'inventory.reserved',
    data: { orderId, reservations, expiresAt: expiresAt.toISOString() },
    correlationId,
  };
}

/**
 * Why stock could not be held or sold for an order: INSUFFICIENT_STOCK and UNKNOWN_PRODUCT at placement;
 * EXPIRED_BEFORE_PAYMENT, RESERVATION_RELEASED or ORDER_CANCELLED when a payment arrives for stock no longer
 * held (the payments subgraph cancels or refunds on it).
 */
export type ReservationFailure =
  | 'INSUFFICIENT_STOCK'
  | 'UNKNOWN_PRODUCT'
  | 'EXPIRED_BEFORE_PAYMENT'
  | 'RESERVATION_RELEASED'
  | 'ORDER_CANCELLED';

/** `inventory.reservation-failed`, naming the products that fell short. */
export function reservationFailed(
  orderId: string,
  reason: ReservationFailure,
  productIds: string[],
  correlationId: string,
): EventDraft<'inventory.reservation-failed'> {
  return { type: 'inventory.reservation-failed', data: { orderId, reason, productIds }, correlationId };
}

export type ReleaseReason = 'PAYMENT_FAILED' | 'ORDER_CANCELLED' | 'EXPIRED';

/** `inventory.released`: the order's held units are available again. */
export function released(
  orderId: string,
  reason: ReleaseReason,
  correlationId: string | undefined,
): EventDraft<'inventory.released'> {
  return { type: 'inventory.released', data: { orderId, reason }, correlationId };
}
