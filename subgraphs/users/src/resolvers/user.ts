import type { UserResolvers } from '../generated/resolvers';

export const User: UserResolvers = {
  // Another subgraph's reference: batched per request by the by-id loader; the service decides who may see it.
  __resolveReference: ({ id }, { users, viewer, loaders }) =>
    users.userVisibleTo(viewer, id, loaders.userById),
};
