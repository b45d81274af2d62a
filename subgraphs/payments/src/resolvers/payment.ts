import { money } from '@shop/kit';
import type { PaymentResolvers } from '../generated/resolvers';

export const Payment: PaymentResolvers = {
  // References from the gateway: batched per request, and shown only to the order's customer or an admin.
  __resolveReference: async ({ id }, { loaders, payments, viewer }) =>
    payments.visible(viewer, await loaders.paymentById.load(id)),
  order: (payment) => ({ id: payment.orderId }),
  amount: (payment) => money(payment.amount, payment.currency),
  capturedAmount: (payment) => money(payment.capturedAmount, payment.currency),
  refundedAmount: (payment) => money(payment.refundedAmount, payment.currency),
  statusHistory: (payment, _args, { loaders }) => loaders.historyByPaymentId.load(payment.id),
  refunds: (payment, _args, { loaders }) => loaders.refundsByPaymentId.load(payment.id),
};
