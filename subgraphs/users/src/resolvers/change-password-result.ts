import type { ChangePasswordResultResolvers, WrongCurrentPasswordResolvers } from '../generated/resolvers';

export const ChangePasswordResult: ChangePasswordResultResolvers = {
  // The service's outcomes carry their GraphQL type name as `kind`.
  __resolveType: (result) => result.kind,
};

export const WrongCurrentPassword: WrongCurrentPasswordResolvers = {
  message: () => 'The current password is not correct',
};
