import type { AnyEventDraft, EventDraft } from '@shop/events';
import type { Step } from '../order-state';
import type { OrderRecord } from '../orders.repository';

/**
 * `order.placed`: everything inventory (lines), payments (total), notifications (the customer's email and
 * name, lines, address) and the cart (`cart`, only for a checkout) need, so none of them asks us back.
 */
export function orderPlaced(
  order: OrderRecord,
  cart: { guestCartId?: string } | undefined,
  correlationId?: string,
): EventDraft<'order.placed'> {
  return {
    type: 'order.placed',
    correlationId,
    data: {
      orderId: order.id,
      userId: order.userId,
      userEmail: order.userEmail,
      ...(order.userName === null ? {} : { userName: order.userName }),
      items: order.items.map((item) => ({
        productId: item.productId,
        sku: item.sku,
        name: item.name,
        quantity: item.quantity,
        unitPrice: { amount: item.unitPrice, currency: item.currency },
      })),
      total: { amount: order.total, currency: order.currency },
      shippingAddress: order.shippingAddress,
      ...(cart === undefined ? {} : { cart }),
    },
  };
}

/**
 * The events of one transition: `order.status-changed` always (the subscription feed reads it), plus
 * `order.cancelled` or `order.shipped` when the order got there.
 */
export function transitionEvents(
  order: Pick<OrderRecord, 'id' | 'userId'>,
  step: Step,
  correlationId?: string,
): AnyEventDraft[] {
  const ids = { orderId: order.id, userId: order.userId };
  const drafts: AnyEventDraft[] = [
    {
      type: 'order.status-changed',
      correlationId,
      data: { ...ids, from: step.from, to: step.to, reason: step.reason },
    },
  ];
  if (step.to === 'CANCELLED' && step.cancellationReason) {
    drafts.push({
      type: 'order.cancelled',
      correlationId,
      data: { ...ids, reason: step.cancellationReason },
    });
  }
  if (step.to === 'SHIPPED') drafts.push({ type: 'order.shipped', correlationId, data: ids });
  return drafts;
}
