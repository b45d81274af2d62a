import type { EventConsumerOptions } from '@shop/events';
import { INVENTORY_GROUP, type InventoryService } from '../inventory.service';

/**
 * The inventory's consumer group: orders reserve stock, payments confirm or release it. Each handler records
 * the event id in the same transaction as its writes (a redelivered or replayed event changes nothing).
 */
export function inventoryConsumers(inventory: InventoryService): EventConsumerOptions[] {
  return [
    {
      groupId: INVENTORY_GROUP,
      handlers: {
        'order.placed': (event) => inventory.onOrderPlaced(event),
        'order.cancelled': (event) => inventory.onOrderCancelled(event),
        'payment.authorized': (event) => inventory.onPaymentAuthorized(event),
        'payment.failed': (event) => inventory.onPaymentFailed(event),
      },
    },
  ];
}
