import type { MutationResolvers } from '../generated/resolvers';

export const Mutation: MutationResolvers = {
  register: (_root, { input }, { users, client }) => users.register(input, client),
  login: (_root, { email, password }, { users, client }) => users.login(email, password, client),
  refreshToken: (_root, { refreshToken }, { users, client }) => users.refresh(refreshToken, client),
  logout: async (_root, { refreshToken }, { users }) => {
    await users.logout(refreshToken);
    return true;
  },
  changePassword: (_root, { currentPassword, newPassword }, { users, viewer, client }) =>
    users.changePassword(viewer, currentPassword, newPassword, client),
};
