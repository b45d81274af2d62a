import type { MutationResolvers } from '../generated/resolvers';

export const Mutation: MutationResolvers = {
  register: (_root, { input }, { users }) => users.register(input),
  login: (_root, { email, password }, { users }) => users.login(email, password),
  refreshToken: (_root, { refreshToken }, { users }) => users.refresh(refreshToken),
  logout: async (_root, { refreshToken }, { users }) => {
    await users.logout(refreshToken);
    return true;
  },
  changePassword: (_root, { currentPassword, newPassword }, { users, viewer }) =>
    users.changePassword(viewer, currentPassword, newPassword),
};
