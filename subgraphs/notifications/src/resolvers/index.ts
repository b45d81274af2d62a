import type { Resolvers } from '../generated/resolvers';
import { Mutation } from './mutation';
import { NotificationConnection } from './notification-connection';
import { Query } from './query';
import { Subscription } from './subscription';

/** One file per type; the shared scalars (DateTime, Decimal) are added by the launcher. */
export const resolvers: Resolvers = { Query, Mutation, Subscription, NotificationConnection };
