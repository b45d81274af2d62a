import type { Resolvers } from '../generated/resolvers';
import { InventoryItem } from './inventory-item';
import { LowStockAlert } from './low-stock-alert';
import { Mutation } from './mutation';
import { Product } from './product';
import { Query } from './query';
import { Subscription } from './subscription';

/** One file per type; the shared scalars (DateTime, Decimal) are added by the launcher. */
export const resolvers: Resolvers = { Query, Mutation, Subscription, InventoryItem, Product, LowStockAlert };
