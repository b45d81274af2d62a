import type { AnyEventDraft } from '@shop/events';
import type { PaymentStatus } from '../payment-status';
import type { PaymentRecord } from '../payments.repository';

const ids = (payment: PaymentRecord) => ({
  paymentId: payment.id,
  orderId: payment.orderId,
  userId: payment.userId,
});

/**
 * The events of one transition: `payment.status-changed` always (the subscription feed reads it), plus the
 * domain event other subgraphs act on (inventory confirms stock on `payment.authorized`, orders moves on).
 */
export function transitionEvents(
  payment: PaymentRecord,
  from: PaymentStatus,
  details: { failureReason?: string | null; refund?: { amount: string; restock: boolean } } = {},
): AnyEventDraft[] {
  const drafts: AnyEventDraft[] = [
    { type: 'payment.status-changed', data: { ...ids(payment), from, to: payment.status } },
  ];
  switch (payment.status) {
    case 'AUTHORIZED':
      drafts.push({
        type: 'payment.authorized',
        data: { ...ids(payment), amount: { amount: payment.amount, currency: payment.currency } },
      });
      break;
    case 'CAPTURED':
      drafts.push({
        type: 'payment.captured',
        data: { ...ids(payment), amount: { amount: payment.capturedAmount, currency: payment.currency } },
      });
      break;
    case 'FAILED':
      drafts.push({
        type: 'payment.failed',
        data: { ...ids(payment), reason: details.failureReason ?? payment.failureReason ?? 'payment failed' },
      });
      break;
    case 'REFUNDED':
    case 'PARTIALLY_REFUNDED':
      if (details.refund) {
        drafts.push({
          type: 'payment.refunded',
          data: {
            ...ids(payment),
            amount: { amount: details.refund.amount, currency: payment.currency },
            restock: details.refund.restock,
          },
        });
      }
      break;
    default:
      break;
  }
  return drafts;
}
