import type { PaymentStatusChangeResolvers } from '../generated/resolvers';

export const PaymentStatusChange: PaymentStatusChangeResolvers = {
  at: (change) => change.createdAt,
};
