import { type EventConsumerOptions, handleOnceInRedis } from '@shop/events';
import type { Redis } from 'ioredis';
import type { CartService } from '../cart.service';

/** The consumer group's name (also the namespace of its processed-event keys in Redis). */
export const CART_GROUP = 'cart';

/**
 * The cart's consumer group: a checked-out cart loses the ordered units when `order.placed` arrives (once per
 * event, claimed in Redis), and a changed product is re-priced at its next read instead of after the cache TTL.
 */
export function cartConsumers(carts: CartService, redis: Redis): EventConsumerOptions[] {
  return [
    {
      groupId: CART_GROUP,
      handlers: {
        'order.placed': async (event) => {
          if (!event.data.cart) return;
          await handleOnceInRedis(redis, CART_GROUP, event, () => carts.orderPlaced(event.data));
        },
        // Only this instance's cache is dropped; other instances re-read after CART_PRICE_CACHE_TTL_MS.
        'product.changed': async (event) => {
          carts.productChanged(event.data.productId);
        },
      },
    },
  ];
}
