import { DateTimeScalar } from '@shop/kit';
import type { Resolvers } from '../generated/resolvers';
import type { AuthSession } from '../users.service';

function toAuthPayload(session: AuthSession) {
  return {
    accessToken: session.accessToken,
    accessTokenExpiresAt: session.accessTokenExpiresAt.toISOString(),
    refreshToken: session.refreshToken,
    refreshTokenExpiresAt: session.refreshTokenExpiresAt.toISOString(),
    user: session.user,
  };
}

/** Thin: each resolver hands its arguments to the service (which validates and authorises) and maps back. */
export const resolvers = {
  DateTime: DateTimeScalar,
  Query: {
    me: (_parent, _args, { users, viewer, loaders }) => users.me(viewer, loaders.userById),
  },
  Mutation: {
    register: async (_parent, { input }, { users }) => toAuthPayload(await users.register(input)),
    login: async (_parent, { email, password }, { users }) =>
      toAuthPayload(await users.login(email, password)),
    refreshToken: async (_parent, { refreshToken }, { users }) =>
      toAuthPayload(await users.refresh(refreshToken)),
    logout: async (_parent, { refreshToken }, { users }) => {
      await users.logout(refreshToken);
      return true;
    },
  },
  User: {
    __resolveReference: ({ id }, { users, viewer, loaders }) =>
      users.userVisibleTo(viewer, id, loaders.userById),
  },
} satisfies Resolvers;
