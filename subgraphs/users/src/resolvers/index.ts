import type { Resolvers } from '../generated/resolvers';
import { ChangePasswordResult, WrongCurrentPassword } from './change-password-result';
import { Mutation } from './mutation';
import { Query } from './query';
import { User } from './user';

/** One file per type; the shared scalars (DateTime, Decimal) are added by the launcher. */
export const resolvers: Resolvers = { Query, Mutation, User, ChangePasswordResult, WrongCurrentPassword };
