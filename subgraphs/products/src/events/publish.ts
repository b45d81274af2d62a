import type { EventDraft } from '@shop/events';
import type { ProductRecord } from '../products.repository';

/** `product.changed`: carts re-price their lines from it; the full product travels, not only what changed. */
export function productChanged(
  product: ProductRecord,
  change: 'CREATED' | 'UPDATED',
): EventDraft<'product.changed'> {
  return {
    type: 'product.changed',
    data: {
      productId: product.id,
      sku: product.sku,
      name: product.name,
      price: { amount: product.price, currency: product.currency },
      active: product.active,
      change,
    },
  };
}
