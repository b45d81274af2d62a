import { money } from '@shop/kit';
import type { OrderItemResolvers } from '../generated/resolvers';
import { fromCents, toCents } from '../money';

export const OrderItem: OrderItemResolvers = {
  // Resolved by the products subgraph through the gateway.
  product: (item) => ({ id: item.productId }),
  unitPrice: (item) => money(item.unitPrice, item.currency),
  lineTotal: (item) => money(fromCents(toCents(item.unitPrice) * BigInt(item.quantity)), item.currency),
};
