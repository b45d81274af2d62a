import { randomUUID } from 'node:crypto';
import type { EventData } from '@shop/events';

/**
 * A valid `order.placed` payload (two units of one product at 9.99), for tests that need an order event
 * without placing an order; override whatever the test is about.
 */
export function sampleOrderPlaced(
  overrides: Partial<EventData<'order.placed'>> = {},
): EventData<'order.placed'> {
  return {
    orderId: randomUUID(),
    userId: randomUUID(),
    userEmail: 'customer@example.com',
    userName: 'Test Customer',
    items: [
      {
        productId: randomUUID(),
        sku: 'SAMPLE-1',
        name: 'Sample product',
        quantity: 2,
        unitPrice: { amount: '9.99', currency: 'USD' },
      },
    ],
    total: { amount: '19.98', currency: 'USD' },
    shippingAddress: {
      street: '1 Main St',
      city: 'Springfield',
      state: 'IL',
      zipCode: '62701',
      country: 'US',
    },
    ...overrides,
  };
}
