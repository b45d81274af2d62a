import type { Resolvers } from '../generated/resolvers';
import { Mutation } from './mutation';
import { Order } from './order';
import { Payment } from './payment';
import { PaymentStatusChange } from './payment-status-change';
import { Query } from './query';
import { Refund } from './refund';
import { PaymentStatusEvent, Subscription } from './subscription';

/** One file per type; the shared scalars (DateTime, Decimal) are added by the launcher. */
export const resolvers: Resolvers = {
  Query,
  Mutation,
  Subscription,
  Payment,
  PaymentStatusChange,
  Refund,
  Order,
  PaymentStatusEvent,
};
