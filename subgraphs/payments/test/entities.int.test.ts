import { randomUUID } from 'node:crypto';
import { sampleOrderPlaced } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import { codes, usePayments } from './support';

const payments = usePayments();

const ORDER_PAYMENT = `query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Order { id payment { id status amount { amount currency } } }
  }
}`;
const PAYMENT_REF = `query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Payment { id status order { id } } }
}`;

describe('entities', () => {
  it("Order.payment: the order's customer and admins see it; an order without payment has null", async () => {
    const customer = await payments.customer();
    const orderId = randomUUID();
    await payments.publish('order.placed', sampleOrderPlaced({ orderId, userId: customer.userId }));
    const payment = await payments.paymentOf(orderId);
    const unknown = randomUUID();
    const representations = [
      { __typename: 'Order', id: orderId },
      { __typename: 'Order', id: unknown },
      { __typename: 'Order', id: 'not-a-uuid' },
    ];

    const mine = await payments.graphql<{ _entities: unknown[] }>(
      ORDER_PAYMENT,
      { representations },
      customer.token,
    );
    expect(mine.errors).toBeUndefined();
    expect(mine.data?._entities).toEqual([
      {
        id: orderId,
        payment: { id: payment.id, status: 'PENDING', amount: { amount: '19.98', currency: 'USD' } },
      },
      { id: unknown, payment: null },
      { id: 'not-a-uuid', payment: null },
    ]);
    const asAdmin = await payments.graphql(ORDER_PAYMENT, { representations }, payments.adminToken);
    expect(asAdmin.errors).toBeUndefined();

    const stranger = await payments.customer();
    const refused = await payments.graphql(
      ORDER_PAYMENT,
      { representations: [representations[0]] },
      stranger.token,
    );
    expect(codes(refused)).toEqual(['FORBIDDEN']);
    expect(codes(await payments.graphql(ORDER_PAYMENT, { representations: [representations[0]] }))).toEqual([
      'UNAUTHENTICATED',
    ]);
  });

  it('Payment references resolve for the owner only', async () => {
    const customer = await payments.customer();
    const orderId = randomUUID();
    await payments.publish('order.placed', sampleOrderPlaced({ orderId, userId: customer.userId }));
    const payment = await payments.paymentOf(orderId);
    const representations = [{ __typename: 'Payment', id: payment.id }];
    const mine = await payments.graphql<{ _entities: unknown[] }>(
      PAYMENT_REF,
      { representations },
      customer.token,
    );
    expect(mine.data?._entities).toEqual([{ id: payment.id, status: 'PENDING', order: { id: orderId } }]);
    const stranger = await payments.customer();
    expect(codes(await payments.graphql(PAYMENT_REF, { representations }, stranger.token))).toEqual([
      'FORBIDDEN',
    ]);
  });
});
