import { randomUUID } from 'node:crypto';
import {
  AddCartItemDocument,
  AdjustStockDocument,
  AllNotificationsDocument,
  CancelOrderDocument,
  CartDocument,
  CheckoutDocument,
  CreateInventoryDocument,
  CreatePaymentIntentDocument,
  CreateProductDocument,
  DeliverOrderDocument,
  InventoryItemsDocument,
  InventoryTransactionsDocument,
  LoginDocument,
  MeDocument,
  MyNotificationsDocument,
  MyOrdersDocument,
  NotificationDocument,
  OrderDocument,
  OrderStatusChangedDocument,
  OrderWithPaymentDocument,
  PaymentByOrderDocument,
  PaymentStatusChangedDocument,
  PlaceOrderDocument,
  ProductStockDocument,
  RefundPaymentDocument,
  RegisterDocument,
  RemoveCartItemDocument,
  ShipOrderDocument,
  type ShopClient,
  UpdateCartItemDocument,
} from '@shop/client';
import { uniqueEmail, uniqueSku, waitFor } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  address,
  amount,
  cents,
  confirmCard,
  mailTo,
  stripeEvents,
  subscribeTyped,
  type TypedSubscription,
  untilFeedDelivers,
} from './checkout-support';
import { demo, startTestSupergraph, type TestSupergraph } from './supergraph';

// The specification's testing guide as one customer's journey through the gateway, every operation a
// generated document of @shop/client: register and log in; an admin stocks two new products; the cart
// walkthrough; checkout (order PENDING, stock reserved, a PENDING payment); createPaymentIntent and a card
// payment at the local Stripe server, whose signed webhook authorises it (order PAID, stock sold, one
// confirmation email); orderStatusChanged and paymentStatusChanged over the gateway's websocket; admin
// inventory operations and low stock; notifications queries; shipment (payment captured), delivery; a
// cancelled order (stock back); refunds; and the stock equation at the end. The tests run in order and share
// the journey's state.

const codes = (result: { errors?: readonly { extensions?: Record<string, unknown> }[] | undefined }) =>
  result.errors?.map((e) => e.extensions?.code);

describe('checkout journey through the gateway', () => {
  let supergraph: TestSupergraph;
  let admin: ShopClient;
  let customer: ShopClient;
  let customerToken: string;
  let customerId: string;
  const email = uniqueEmail('journey');
  const products = {
    lamp: { id: '', inventoryId: '', price: '19.99', stock: 20, reorderLevel: 5 },
    mug: { id: '', inventoryId: '', price: '5.50', stock: 10, reorderLevel: 3 },
  };
  let orderId = '';
  let paymentId = '';
  let intentId = '';
  let orderEvents: TypedSubscription<{
    orderStatusChanged: { from: string; to: string; reason: string | null };
  }>;
  let paymentEvents: TypedSubscription<{ paymentStatusChanged: { from: string; to: string } }>;

  beforeAll(async () => {
    supergraph = await startTestSupergraph({ env: { NOTIFY_DELIVERY_INTERVAL_MS: '500' } });
  });

  afterAll(async () => {
    await orderEvents?.close();
    await paymentEvents?.close();
    await supergraph?.stop();
  });

  async function stock(productId: string) {
    const { product } = await customer.data(ProductStockDocument, { id: productId });
    const inventory = product?.inventory;
    if (!inventory) throw new Error(`no inventory for ${productId}`);
    return {
      available: inventory.availableQuantity,
      reserved: inventory.reservedQuantity,
      total: inventory.totalQuantity,
    };
  }

  async function order(id: string, as: ShopClient = customer) {
    const result = await as.data(OrderDocument, { id });
    if (!result.order) throw new Error(`order ${id} not found`);
    return result.order;
  }

  /** The order's payment once payments has opened it (from order.placed). */
  async function paymentOf(id: string) {
    return waitFor(
      `the payment of ${id}`,
      async () => (await customer.data(PaymentByOrderDocument, { orderId: id })).paymentByOrder,
    );
  }

  async function payWithCard(id: string) {
    const { createPaymentIntent } = await customer.data(CreatePaymentIntentDocument, {
      orderId: id,
      idempotencyKey: randomUUID(),
    });
    expect(createPaymentIntent.clientSecret).toMatch(/^pi_.+_secret_/);
    expect(await confirmCard(supergraph, createPaymentIntent.clientSecret)).toBe(200);
    return createPaymentIntent;
  }

  it('registers and logs in a customer; an admin creates two products and their stock', async () => {
    const { client } = supergraph;
    const { register } = await client.data(RegisterDocument, {
      input: { email, password: 'journey-password', name: 'Journey Customer' },
    });
    expect(register.user).toMatchObject({ email, role: 'CUSTOMER' });
    const { login } = await client.data(LoginDocument, { email, password: 'journey-password' });
    customerToken = login.accessToken;
    customerId = login.user.id;
    customer = client.as(customerToken);
    expect((await customer.data(MeDocument)).me).toMatchObject({ id: customerId, email });

    const bad = await client.request(LoginDocument, { email, password: 'not-the-password' });
    expect(codes(bad)).toEqual(['UNAUTHENTICATED']);

    const adminLogin = await client.data(LoginDocument, demo.admin);
    admin = client.as(adminLogin.login.accessToken);
    for (const [name, product] of Object.entries(products)) {
      const sku = uniqueSku(name);
      const { createProduct } = await admin.data(CreateProductDocument, {
        input: { name: `Journey ${name}`, sku, price: product.price, description: `A ${name}` },
      });
      product.id = createProduct.id;
      const { createInventory } = await admin.data(CreateInventoryDocument, {
        input: {
          productId: product.id,
          sku,
          availableQuantity: product.stock,
          reorderLevel: product.reorderLevel,
          reorderQuantity: 50,
        },
      });
      product.inventoryId = createInventory.id;
      expect(createInventory).toMatchObject({ availableQuantity: product.stock, reservedQuantity: 0 });
    }
    // A customer may not create products.
    const refused = await customer.request(CreateProductDocument, {
      input: { name: 'Nope', sku: uniqueSku('nope'), price: '1.00' },
    });
    expect(codes(refused)).toEqual(['FORBIDDEN']);
  });

  it('walks through the cart: add, update the quantity, remove, totals', async () => {
    const { lamp, mug } = products;
    await customer.data(AddCartItemDocument, { productId: lamp.id, quantity: 2 });
    const { addCartItem } = await customer.data(AddCartItemDocument, { productId: mug.id, quantity: 1 });
    expect(addCartItem.itemCount).toBe(3);
    expect(cents(addCartItem.subtotal.amount)).toBe(2 * cents(lamp.price) + cents(mug.price));

    const { updateCartItem } = await customer.data(UpdateCartItemDocument, {
      productId: lamp.id,
      quantity: 3,
    });
    expect(updateCartItem.items.find((item) => item.product?.id === lamp.id)?.quantity).toBe(3);
    const { removeCartItem } = await customer.data(RemoveCartItemDocument, { productId: mug.id });
    expect(removeCartItem.items.map((item) => item.product?.id)).toEqual([lamp.id]);
    await customer.data(AddCartItemDocument, { productId: mug.id, quantity: 2 });

    const { cart } = await customer.data(CartDocument, {});
    expect(cart.items.map((item) => [item.product?.id, item.quantity, item.unitPrice.amount])).toEqual([
      [lamp.id, 3, lamp.price],
      [mug.id, 2, mug.price],
    ]);
    expect(cart.itemCount).toBe(5);
    expect(cart.items.map((item) => item.lineTotal.amount)).toEqual([
      amount(3 * cents(lamp.price)),
      amount(2 * cents(mug.price)),
    ]);
    expect(cart.subtotal.amount).toBe(amount(3 * cents(lamp.price) + 2 * cents(mug.price)));

    // Out of range: a coded error, the cart unchanged.
    const negative = await customer.request(UpdateCartItemDocument, { productId: lamp.id, quantity: -1 });
    expect(codes(negative)).toEqual(['BAD_USER_INPUT']);
    expect((await customer.data(CartDocument, {})).cart.itemCount).toBe(5);
  });

  it('checks out: the order is PENDING, its stock reserved, its payment PENDING, the cart emptied', async () => {
    const { lamp, mug } = products;
    const { checkout } = await customer.data(CheckoutDocument, { input: { shippingAddress: address } });
    orderId = checkout.id;
    expect(checkout).toMatchObject({ status: 'PENDING', user: { id: customerId } });
    expect(checkout.total.amount).toBe(amount(3 * cents(lamp.price) + 2 * cents(mug.price)));
    expect(checkout.items.map((item) => [item.product.id, item.quantity])).toEqual([
      [lamp.id, 3],
      [mug.id, 2],
    ]);

    await waitFor('the reservation', async () => (await order(orderId)).stockReserved);
    expect(await stock(lamp.id)).toEqual({ available: 17, reserved: 3, total: 20 });
    expect(await stock(mug.id)).toEqual({ available: 8, reserved: 2, total: 10 });
    const payment = await paymentOf(orderId);
    paymentId = payment.id;
    expect(payment).toMatchObject({ status: 'PENDING', amount: checkout.total });
    await waitFor(
      'the cart emptied',
      async () => (await customer.data(CartDocument, {})).cart.itemCount === 0,
    );
    const { myOrders } = await customer.data(MyOrdersDocument, {});
    expect(myOrders.edges.map((edge) => edge.node.id)).toEqual([orderId]);
  });

  it('pays by card at the local Stripe: webhook → payment AUTHORIZED, order PAID, stock sold, one confirmation email, both changes over the websocket', async () => {
    const { lamp, mug } = products;
    orderEvents = subscribeTyped(supergraph, OrderStatusChangedDocument, { orderId }, customerToken);
    paymentEvents = subscribeTyped(supergraph, PaymentStatusChangedDocument, { orderId }, customerToken);
    await untilFeedDelivers(
      supergraph,
      'order.status-changed',
      { orderId, userId: customerId, from: 'PENDING', to: 'PENDING', reason: 'PROBE' },
      () => orderEvents.values.length > 0,
    );
    await untilFeedDelivers(
      supergraph,
      'payment.status-changed',
      { paymentId, orderId, userId: customerId, from: 'PENDING', to: 'PENDING' },
      () => paymentEvents.values.length > 0,
    );

    const intent = await payWithCard(orderId);
    expect(intent.payment.id).toBe(paymentId);
    intentId = intent.clientSecret.split('_secret_')[0] ?? '';
    const paid = await waitFor('the order PAID', async () => {
      const now = await order(orderId);
      return now.status === 'PAID' ? now : undefined;
    });
    expect(paid).toMatchObject({ stockReserved: true, paymentAuthorized: true, paymentCaptured: false });
    // One request, two subgraphs: the order's state from orders, its payment from payments.
    const { order: both } = await customer.data(OrderWithPaymentDocument, { id: orderId });
    expect(both).toMatchObject({
      status: 'PAID',
      payment: {
        id: paymentId,
        status: 'AUTHORIZED',
        amount: paid.total,
        capturedAmount: { amount: '0.00' },
      },
    });
    await waitFor('the stock sold', async () => (await stock(lamp.id)).reserved === 0);
    expect(await stock(lamp.id)).toEqual({ available: 17, reserved: 0, total: 17 });
    expect(await stock(mug.id)).toEqual({ available: 8, reserved: 0, total: 8 });

    await waitFor('the order change over the websocket', () =>
      orderEvents.values.some((v) => v.data?.orderStatusChanged.to === 'PAID'),
    );
    expect(orderEvents.values.filter((v) => v.data?.orderStatusChanged.reason !== 'PROBE')).toEqual([
      { data: { orderStatusChanged: expect.objectContaining({ from: 'PENDING', to: 'PAID' }) } },
    ]);
    await waitFor('the payment change over the websocket', () =>
      paymentEvents.values.some((v) => v.data?.paymentStatusChanged.to === 'AUTHORIZED'),
    );
    const paymentPath = paymentEvents.values
      .map((v) => v.data?.paymentStatusChanged)
      .filter((change) => change && change.from !== change.to)
      .map((change) => `${change?.from}->${change?.to}`);
    expect(paymentPath.at(-1)).toMatch(/->AUTHORIZED$/);
    expect(paymentPath[0]).toMatch(/^PENDING->/);

    const mails = await waitFor('the confirmation and payment emails', async () => {
      const mine = await mailTo(supergraph, email);
      return mine.length >= 2 ? mine : undefined;
    });
    expect(mails.filter((mail) => /is confirmed/.test(mail.subject))).toHaveLength(1);
    expect(mails.filter((mail) => /^Payment received/.test(mail.subject))).toHaveLength(1);
  });

  it('lets an admin adjust stock, see low stock, and read the audit trail; refuses a customer', async () => {
    const { lamp } = products;
    const { adjustStock: purchased } = await admin.data(AdjustStockDocument, {
      inventoryId: lamp.inventoryId,
      input: { quantity: 5, type: 'PURCHASE', reference: 'PO-12345', notes: 'Restocked from supplier' },
    });
    expect(purchased).toMatchObject({ availableQuantity: 22, totalQuantity: 22, lowStock: false });
    const { adjustStock: damaged } = await admin.data(AdjustStockDocument, {
      inventoryId: lamp.inventoryId,
      input: { quantity: -18, type: 'DAMAGE', notes: 'Dropped a pallet' },
    });
    expect(damaged).toMatchObject({ availableQuantity: 4, totalQuantity: 4, lowStock: true });

    const { inventoryItems } = await admin.data(InventoryItemsDocument, { first: 100, lowStockOnly: true });
    expect(inventoryItems.edges.map((edge) => edge.node.id)).toContain(lamp.inventoryId);
    const alert = await waitFor('the low-stock alert email to the admins', async () => {
      const mails = await mailTo(supergraph, demo.admin.email);
      return mails.find((mail) => mail.subject.includes('(4 left)'));
    });
    expect(alert.subject).toMatch(/^Low stock: LAMP-/);

    // A sign that disagrees with the type, and a customer: coded refusals, nothing changed.
    const wrongSign = await admin.request(AdjustStockDocument, {
      inventoryId: lamp.inventoryId,
      input: { quantity: 3, type: 'DAMAGE' },
    });
    expect(codes(wrongSign)).toEqual(['BAD_USER_INPUT']);
    const customerTry = await customer.request(AdjustStockDocument, {
      inventoryId: lamp.inventoryId,
      input: { quantity: 3, type: 'PURCHASE' },
    });
    expect(codes(customerTry)).toEqual(['FORBIDDEN']);

    const { adjustStock: restocked } = await admin.data(AdjustStockDocument, {
      inventoryId: lamp.inventoryId,
      input: { quantity: 16, type: 'PURCHASE', reference: 'PO-12346' },
    });
    expect(restocked).toMatchObject({
      availableQuantity: 20,
      reservedQuantity: 0,
      totalQuantity: 20,
      lowStock: false,
    });

    const { inventoryByProduct } = await admin.data(InventoryTransactionsDocument, {
      productId: lamp.id,
      first: 20,
    });
    const trail = inventoryByProduct?.transactions.edges.map((edge) => [edge.node.type, edge.node.quantity]);
    // Newest first: the three adjustments, the sale, the reservation, the initial stock (if recorded).
    expect(trail?.slice(0, 5)).toEqual([
      ['PURCHASE', 16],
      ['DAMAGE', -18],
      ['PURCHASE', 5],
      ['SALE', -3],
      ['RESERVATION', -3],
    ]);
    for (const edge of inventoryByProduct?.transactions.edges ?? []) {
      expect(edge.node.totalAfter).toBe(edge.node.availableAfter + edge.node.reservedAfter);
    }
  });

  it('answers the notifications queries: own list and details, the admin list, refusals', async () => {
    const mine = await waitFor('both notifications SENT', async () => {
      const { myNotifications } = await customer.data(MyNotificationsDocument, { first: 10 });
      return myNotifications.edges.every((edge) => edge.node.status === 'SENT') &&
        myNotifications.totalCount === 2
        ? myNotifications
        : undefined;
    });
    expect(mine.edges.map((edge) => edge.node.type).sort()).toEqual([
      'ORDER_CONFIRMATION',
      'PAYMENT_CONFIRMATION',
    ]);
    const first = mine.edges[0]?.node;
    if (!first) throw new Error('no notification');
    const { notification } = await customer.data(NotificationDocument, { id: first.id });
    expect(notification).toMatchObject({ id: first.id, recipient: email, channel: 'EMAIL', status: 'SENT' });

    const { allNotifications } = await admin.data(AllNotificationsDocument, { type: 'LOW_STOCK_ALERT' });
    expect(allNotifications.edges.map((edge) => edge.node.recipient)).toContain(demo.admin.email);
    const { allNotifications: hers } = await admin.data(AllNotificationsDocument, { userId: customerId });
    expect(hers.totalCount).toBe(2);
    expect(codes(await customer.request(AllNotificationsDocument, {}))).toEqual(['FORBIDDEN']);
    const stranger = supergraph.client.as(await supergraph.keys.tokenFor('CUSTOMER'));
    expect(codes(await stranger.request(NotificationDocument, { id: first.id }))).toEqual(['FORBIDDEN']);
  });

  it('ships the order (the payment is captured), then delivers it', async () => {
    expect(codes(await customer.request(ShipOrderDocument, { id: orderId }))).toEqual(['FORBIDDEN']);
    const { shipOrder } = await admin.data(ShipOrderDocument, { id: orderId });
    expect(shipOrder.status).toBe('SHIPPED');
    const captured = await waitFor('the capture', async () => {
      const payment = await paymentOf(orderId);
      return payment.status === 'CAPTURED' ? payment : undefined;
    });
    expect(captured.capturedAmount.amount).toBe(shipOrder.total.amount);
    await waitFor('the order to know of the capture', async () => (await order(orderId)).paymentCaptured);
    expect(codes(await admin.request(ShipOrderDocument, { id: orderId }))).toEqual(['CONFLICT']);

    const { deliverOrder } = await admin.data(DeliverOrderDocument, { id: orderId });
    expect(deliverOrder.status).toBe('DELIVERED');
    const history = (await order(orderId)).statusHistory.map((entry) => entry.to);
    expect(history).toEqual(['PENDING', 'PAID', 'SHIPPED', 'DELIVERED']);

    await waitFor('SHIPPED and DELIVERED over the websocket', () =>
      orderEvents.values.some((v) => v.data?.orderStatusChanged.to === 'DELIVERED'),
    );
    expect(
      orderEvents.values
        .filter((v) => v.data?.orderStatusChanged.reason !== 'PROBE')
        .map((v) => v.data?.orderStatusChanged.to),
    ).toEqual(['PAID', 'SHIPPED', 'DELIVERED']);
    await waitFor('CAPTURED over the websocket', () =>
      paymentEvents.values.some((v) => v.data?.paymentStatusChanged.to === 'CAPTURED'),
    );
    const shipped = await waitFor('the shipping email', async () =>
      (await mailTo(supergraph, email)).find((mail) => /has shipped/.test(mail.subject)),
    );
    expect(shipped.to).toEqual([email]);
  });

  it('cancels a placed order: the reservation is released, the payment cancelled, one email', async () => {
    const { mug } = products;
    const before = await stock(mug.id);
    const { placeOrder } = await customer.data(PlaceOrderDocument, {
      input: { items: [{ productId: mug.id, quantity: 3 }], shippingAddress: address },
    });
    await waitFor('the reservation', async () => (await order(placeOrder.id)).stockReserved);
    expect(await stock(mug.id)).toEqual({
      available: before.available - 3,
      reserved: before.reserved + 3,
      total: before.total,
    });
    await paymentOf(placeOrder.id);
    const intent = await customer.data(CreatePaymentIntentDocument, {
      orderId: placeOrder.id,
      idempotencyKey: randomUUID(),
    });
    expect(intent.createPaymentIntent.payment.status).toBe('PENDING');

    const { cancelOrder } = await customer.data(CancelOrderDocument, { id: placeOrder.id });
    expect(cancelOrder).toMatchObject({ status: 'CANCELLED', cancellationReason: 'CUSTOMER_REQUEST' });
    await waitFor('the stock back', async () => (await stock(mug.id)).reserved === before.reserved);
    expect(await stock(mug.id)).toEqual(before);
    const cancelled = await waitFor('the payment cancelled', async () => {
      const payment = await paymentOf(placeOrder.id);
      return payment.status === 'CANCELLED' ? payment : undefined;
    });
    expect(cancelled.capturedAmount.amount).toBe('0.00');
    expect(codes(await customer.request(CancelOrderDocument, { id: placeOrder.id }))).toEqual(['CONFLICT']);
    // A paid and shipped order cannot be cancelled any more.
    expect(codes(await customer.request(CancelOrderDocument, { id: orderId }))).toEqual(['CONFLICT']);

    await waitFor('the cancellation email', async () =>
      (await mailTo(supergraph, email)).some((mail) => /was cancelled/.test(mail.subject)),
    );
    const mails = await mailTo(supergraph, email);
    expect(mails.filter((mail) => /was cancelled/.test(mail.subject))).toHaveLength(1);
    expect(mails.filter((mail) => /is confirmed/.test(mail.subject))).toHaveLength(2);
  });

  it('refunds the delivered order in two parts: the payment, then the order, become REFUNDED', async () => {
    const total = (await order(orderId)).total.amount;
    expect(codes(await customer.request(RefundPaymentDocument, { paymentId, amount: '1.00' }))).toEqual([
      'FORBIDDEN',
    ]);
    const tooMuch = await admin.request(RefundPaymentDocument, {
      paymentId,
      amount: amount(cents(total) + 1),
    });
    expect(codes(tooMuch)).toEqual(['BAD_USER_INPUT']);

    const { refundPayment: partial } = await admin.data(RefundPaymentDocument, {
      paymentId,
      amount: '20.00',
      reason: 'One lamp arrived broken',
    });
    expect(partial).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedAmount: { amount: '20.00' } });
    await waitFor(
      'the partial refund on the order',
      async () => (await order(orderId)).refundedAmount.amount === '20.00',
    );
    expect((await order(orderId)).status).toBe('DELIVERED');

    const { refundPayment: rest } = await admin.data(RefundPaymentDocument, {
      paymentId,
      reason: 'Goodwill',
    });
    expect(rest.status).toBe('REFUNDED');
    expect(rest.refundedAmount.amount).toBe(total);
    expect(rest.refunds.map((refund) => refund.amount.amount)).toEqual(
      expect.arrayContaining(['20.00', amount(cents(total) - 2000)]),
    );
    const refunded = await waitFor('the order REFUNDED', async () => {
      const now = await order(orderId);
      return now.status === 'REFUNDED' ? now : undefined;
    });
    expect(refunded.refundedAmount.amount).toBe(total);
    const { order: both } = await customer.data(OrderWithPaymentDocument, { id: orderId });
    expect(both).toMatchObject({
      status: 'REFUNDED',
      refundedAmount: { amount: total },
      payment: { status: 'REFUNDED', capturedAmount: { amount: total }, refundedAmount: { amount: total } },
    });
    expect(codes(await admin.request(RefundPaymentDocument, { paymentId }))).toEqual(['CONFLICT']);
    // At Stripe: the intent was captured once and refunded twice.
    const atStripe = (await stripeEvents(supergraph)).filter(
      (event) => event.object.id === intentId || event.object.payment_intent === intentId,
    );
    expect(atStripe.filter((event) => event.type === 'payment_intent.succeeded')).toHaveLength(1);
    expect(atStripe.filter((event) => event.type === 'refund.created')).toHaveLength(2);
    await waitFor('REFUNDED over the websocket', () =>
      orderEvents.values.some((v) => v.data?.orderStatusChanged.to === 'REFUNDED'),
    );
  });

  it('ends with the stock equation on every item and nothing left reserved', async () => {
    const { lamp, mug } = products;
    expect(await stock(lamp.id)).toEqual({ available: 20, reserved: 0, total: 20 });
    expect(await stock(mug.id)).toEqual({ available: 8, reserved: 0, total: 8 });
    const { inventoryItems } = await admin.data(InventoryItemsDocument, { first: 100 });
    expect(inventoryItems.edges.length).toBeGreaterThan(2);
    for (const { node } of inventoryItems.edges) {
      expect(node.totalQuantity).toBe(node.availableQuantity + node.reservedQuantity);
      expect(node.reservedQuantity).toBe(0);
    }
    // Each email once: two confirmations, one payment, one shipping, one cancellation.
    const subjects = (await mailTo(supergraph, email)).map((mail) => mail.subject.replace(/#\S+/, '#'));
    expect(subjects.sort()).toEqual(
      [
        'Payment received for order #',
        'Your order # has shipped',
        'Your order # is confirmed',
        'Your order # is confirmed',
        'Your order # was cancelled',
      ].sort(),
    );
  });
});
