import type { Resolvers } from '../generated/resolvers';
import { Mutation } from './mutation';
import { Order } from './order';
import { OrderConnection } from './order-connection';
import { OrderItem } from './order-item';
import { OrderStatusChange } from './order-status-change';
import { Query } from './query';
import { Subscription } from './subscription';
import { User } from './user';

/** One file per type; the shared scalars (DateTime, Decimal) are added by the launcher. */
export const resolvers: Resolvers = {
  Query,
  Mutation,
  Subscription,
  Order,
  OrderItem,
  OrderConnection,
  OrderStatusChange,
  User,
};
