import type { QueryResolvers } from '../generated/resolvers';

export const Query: QueryResolvers = {
  me: (_root, _args, { users, viewer, loaders }) => users.me(viewer, loaders.userById),
};
