import type { MutationResolvers } from '../generated/resolvers';

export const Mutation: MutationResolvers = {
  createPaymentIntent: (_root, { orderId, idempotencyKey }, { payments, viewer }) =>
    payments.createPaymentIntent(viewer, { orderId, idempotencyKey }),
  capturePayment: (_root, { paymentId }, { payments, viewer }) => payments.capturePayment(viewer, paymentId),
  refundPayment: (_root, { paymentId, amount, reason, restock }, { payments, viewer }) =>
    payments.refundPayment(viewer, paymentId, { amount, reason, restock }),
};
