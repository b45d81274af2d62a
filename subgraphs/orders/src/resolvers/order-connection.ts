import type { OrderConnectionResolvers } from '../generated/resolvers';

export const OrderConnection: OrderConnectionResolvers = {
  // Counted only when a client selects it.
  totalCount: (list) => list.countTotal(),
};
