import type { UserResolvers } from '../generated/resolvers';

export const User: UserResolvers = {
  // The users subgraph owns User; this subgraph only adds `orders` to the reference it is given.
  __resolveReference: ({ id }) => ({ id }),
  orders: (user, args, { orders, viewer }) => orders.ordersOfUser(viewer, user.id, args),
};
