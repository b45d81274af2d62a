import { money } from '@shop/kit';
import type { RefundResolvers } from '../generated/resolvers';

export const Refund: RefundResolvers = {
  amount: (refund) => money(refund.amount, refund.currency),
};
