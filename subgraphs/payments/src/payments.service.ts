import { createHash } from 'node:crypto';
import { UniqueViolation } from '@shop/db';
import type { Enqueue, EventEnvelope } from '@shop/events';
import {
  badUserInput,
  conflict,
  forbidden,
  type Logger,
  notFound,
  parseInput,
  requireAdmin,
  requireViewer,
  type Viewer,
} from '@shop/kit';
import type Stripe from 'stripe';
import { z } from 'zod';
import { transitionEvents } from './events/publish';
import { fromMinorUnits, toMinorUnits } from './money';
import { PaymentArrivals } from './payment-arrivals';
import {
  canTransition,
  isPayable,
  isUncaptured,
  type PaymentStatus,
  type TransitionSource,
} from './payment-status';
import type { PaymentChanges, PaymentRecord, PaymentsRepository, RefundRecord } from './payments.repository';
import { type PaymentProvider, ProviderError, type ProviderIntent } from './stripe';

/** The consumer group of the order and inventory events (processed-event marks are recorded under it). */
export const CONSUMER_GROUP = 'payments';

/** The payment intent webhooks that move a payment, and where to (refunds are handled apart). */
const webhookTargets: Partial<Record<Stripe.Event['type'], PaymentStatus>> = {
  'payment_intent.processing': 'PROCESSING',
  'payment_intent.amount_capturable_updated': 'AUTHORIZED',
  'payment_intent.payment_failed': 'FAILED',
  'payment_intent.succeeded': 'CAPTURED',
  'payment_intent.canceled': 'CANCELLED',
};
const IGNORED_TYPE = 'ignored: not a type this shop acts on';

export interface PaymentsSettings {
  /** How long createPaymentIntent's idempotency keys are kept (at least 24 h). */
  idempotencyTtlHours: number;
  /** How old a webhook's signed timestamp may be. */
  webhookToleranceSeconds: number;
  /** How long createPaymentIntent waits for a payment payments has not created yet (0: answer NOT_FOUND at once). */
  paymentWaitMs: number;
}

/** What createPaymentIntent returns, and what its idempotency log stores. */
export interface PaymentIntentResult {
  payment: PaymentRecord;
  clientSecret: string;
}

interface StoredIntentResponse {
  paymentId: string;
  clientSecret: string;
}

export interface RefundInput {
  amount?: string | null | undefined;
  reason?: string | null | undefined;
  restock?: boolean | null | undefined;
}

const uuid = z.guid('must be a UUID');
const createIntentSchema = z.object({
  orderId: uuid,
  idempotencyKey: z.string().trim().min(1, 'must not be empty').max(255, 'must be at most 255 characters'),
});
const refundSchema = z.object({
  paymentId: uuid,
  amount: z
    .string()
    .regex(/^\d+(\.\d{1,2})?$/, 'must be a positive amount with at most 2 decimals, such as "5.00"')
    .refine((text) => /[1-9]/.test(text), 'must be greater than 0')
    // Decimal(12,2) holds 10 digits before the point; a longer amount overflowed toMinorUnits (a 500).
    .refine((text) => /^\d{1,10}(\.|$)/.test(text), 'must be less than 10000000000')
    .nullish(),
  reason: z.string().trim().max(500, 'must be at most 500 characters').nullish(),
  restock: z.boolean().nullish(),
});

type Tx = PaymentsRepository;

interface TransitionOptions {
  notes?: string | null;
  changes?: PaymentChanges;
  failureReason?: string | null;
  refund?: { amount: string; restock: boolean };
}

/**
 * The payment lifecycle: who may pay, capture and refund what, how Stripe's answers and webhooks move a
 * payment, and how order and inventory events drive it. Knows nothing of GraphQL; throws coded AppErrors.
 * Every transition is checked against the status machine, written with its history row and its events in one
 * transaction, under the payment's row lock.
 */
export class PaymentsService {
  constructor(
    private readonly repository: PaymentsRepository,
    private readonly provider: PaymentProvider,
    private readonly settings: PaymentsSettings,
    private readonly logger: Logger,
    private readonly arrivals = new PaymentArrivals(),
  ) {}

  // --- reads ---------------------------------------------------------------------------------------------

  /** A payment its owner or an admin may see; null when there is none. */
  async payment(viewer: Viewer | undefined, id: string): Promise<PaymentRecord | null> {
    requireViewer(viewer);
    parseInput(z.object({ id: uuid }), { id });
    return this.visible(viewer, await this.repository.findById(id));
  }

  async paymentByOrder(viewer: Viewer | undefined, orderId: string): Promise<PaymentRecord | null> {
    requireViewer(viewer);
    parseInput(z.object({ orderId: uuid }), { orderId });
    return this.visible(viewer, await this.repository.findByOrderId(orderId));
  }

  /** The payment itself for its owner or an admin; FORBIDDEN for anyone else. */
  visible(viewer: Viewer | undefined, payment: PaymentRecord | null): PaymentRecord | null {
    const signedIn = requireViewer(viewer);
    if (payment === null) return null;
    if (signedIn.role !== 'ADMIN' && signedIn.userId !== payment.userId) {
      throw forbidden('Only the customer who placed the order, or an admin, may see its payment');
    }
    return payment;
  }

  /**
   * Who may follow an order's payment: its customer or an admin. The returned filter also checks each event's
   * user, so a subscription opened before the payment exists still shows a customer nothing of others.
   */
  async statusFeedFilter(
    viewer: Viewer | undefined,
    orderId: string,
  ): Promise<(event: EventEnvelope<'payment.status-changed'>) => boolean> {
    const signedIn = requireViewer(viewer);
    parseInput(z.object({ orderId: uuid }), { orderId });
    this.visible(signedIn, await this.repository.findByOrderId(orderId));
    const order = orderId.toLowerCase();
    return (event) =>
      event.data.orderId === order && (signedIn.role === 'ADMIN' || event.data.userId === signedIn.userId);
  }

  // --- the customer: createPaymentIntent -------------------------------------------------------------------

  /**
   * A Stripe PaymentIntent (manual capture) for the order's payment, amount from the order's total. The same
   * idempotency key with the same request returns the stored response; with another request, CONFLICT.
   */
  async createPaymentIntent(
    viewer: Viewer | undefined,
    input: { orderId: string; idempotencyKey: string },
  ): Promise<PaymentIntentResult> {
    const customer = requireViewer(viewer);
    const { orderId, idempotencyKey } = parseInput(createIntentSchema, input);
    const requestHash = createHash('sha256')
      .update(JSON.stringify({ operation: 'createPaymentIntent', orderId: orderId.toLowerCase() }))
      .digest('hex');
    const now = new Date();
    const { logged, payment } = await this.repository.findIntentRequest(
      customer.userId,
      idempotencyKey,
      orderId,
      now,
    );
    if (logged) return this.replay(logged, requestHash);
    const found = payment ?? (await this.awaitPayment(orderId));
    if (found === null) throw notFound('Payment of order', orderId);
    return this.startIntent(customer, found, { idempotencyKey, requestHash, now });
  }

  /**
   * The order's payment once payments has created it (from `order.placed`), or null after `paymentWaitMs`:
   * woken at once when this instance creates it, re-read with backoff in case another instance did.
   */
  private async awaitPayment(orderId: string): Promise<PaymentRecord | null> {
    const deadline = Date.now() + this.settings.paymentWaitMs;
    for (let pause = 50; ; pause = Math.min(pause * 2, 400)) {
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await this.arrivals.next(orderId, Math.min(pause, left));
      const payment = await this.repository.findByOrderId(orderId);
      if (payment !== null) return payment;
    }
  }

  private async startIntent(
    customer: Viewer,
    payment: PaymentRecord,
    request: { idempotencyKey: string; requestHash: string; now: Date },
  ): Promise<PaymentIntentResult> {
    const { idempotencyKey, requestHash, now } = request;
    if (payment.userId !== customer.userId) {
      throw forbidden('Only the customer who placed the order may pay for it');
    }
    if (!isPayable(payment.status)) {
      throw conflict(`This order's payment is ${payment.status}; it cannot be paid now`, {
        status: payment.status,
      });
    }
    // One intent per payment: its Stripe idempotency key is derived from the payment, so a retry (or a second
    // client key) never creates a second intent, and a failed card is retried on the same intent.
    const intent = await this.stripe(() =>
      payment.stripePaymentIntentId
        ? this.provider.retrieveIntent(payment.stripePaymentIntentId)
        : this.provider.createIntent(
            {
              amount: toMinorUnits(payment.amount),
              currency: payment.currency,
              metadata: { order_id: payment.orderId, payment_id: payment.id, user_id: payment.userId },
            },
            stripeKey('payment-intent', payment.id),
          ),
    );
    const response: StoredIntentResponse = { paymentId: payment.id, clientSecret: intent.clientSecret };
    try {
      const updated = await this.repository.transaction(async (tx) => {
        const locked = (await tx.lock(payment.id)) as PaymentRecord;
        const current =
          locked.stripePaymentIntentId === null
            ? await tx.update(locked.id, {
                stripePaymentIntentId: intent.id,
                idempotencyKey: stripeKey('payment-intent', payment.id),
                paymentMethod: 'card',
              })
            : locked;
        await tx.saveIdempotency({
          userId: customer.userId,
          key: idempotencyKey,
          requestHash,
          responseData: { ...response },
          expiresAt: new Date(now.getTime() + this.settings.idempotencyTtlHours * 3_600_000),
          now,
        });
        return current;
      });
      return { payment: updated, clientSecret: intent.clientSecret };
    } catch (error) {
      if (!(error instanceof UniqueViolation)) throw error;
      // A concurrent request with the same key stored its response first: answer as a replay would.
      const winner = await this.repository.findIdempotency(customer.userId, idempotencyKey, new Date());
      if (!winner) throw error;
      return this.replay(winner, requestHash);
    }
  }

  private async replay(
    logged: { requestHash: string; responseData: unknown },
    requestHash: string,
  ): Promise<PaymentIntentResult> {
    if (logged.requestHash !== requestHash) {
      throw conflict('This idempotency key was already used with a different request', {
        field: 'idempotencyKey',
      });
    }
    const stored = logged.responseData as StoredIntentResponse;
    const payment = await this.repository.findById(stored.paymentId);
    if (payment === null) throw notFound('Payment', stored.paymentId);
    return { payment, clientSecret: stored.clientSecret };
  }

  // --- admins: capture and refund ---------------------------------------------------------------------------

  /** Captures an AUTHORIZED payment (admins only). */
  async capturePayment(viewer: Viewer | undefined, paymentId: string): Promise<PaymentRecord> {
    const admin = requireAdmin(viewer);
    parseInput(z.object({ paymentId: uuid }), { paymentId });
    const payment = await this.repository.findById(paymentId);
    if (payment === null) throw notFound('Payment', paymentId);
    if (payment.status !== 'AUTHORIZED' || payment.stripePaymentIntentId === null) {
      throw conflict(`Only an AUTHORIZED payment can be captured; this one is ${payment.status}`, {
        status: payment.status,
      });
    }
    const intentId = payment.stripePaymentIntentId;
    const intent = await this.stripe(() =>
      this.provider.captureIntent(intentId, stripeKey('capture', payment.id)),
    );
    const captured = await this.repository.transaction((tx, enqueue) =>
      this.applyCapture(tx, enqueue, payment.id, intent, 'API', `captured by admin ${admin.userId}`),
    );
    this.logger.info({ paymentId, by: admin.userId }, 'payment captured');
    return captured;
  }

  /**
   * Refunds part or all of what is left of a capture (admins only). The refund row is written first, PENDING,
   * so concurrent refunds can never exceed the capture; Stripe is asked with a key per refund.
   */
  async refundPayment(
    viewer: Viewer | undefined,
    paymentId: string,
    input: RefundInput,
  ): Promise<PaymentRecord> {
    const admin = requireAdmin(viewer);
    const valid = parseInput(refundSchema, { paymentId, ...input });
    const refund = await this.repository.transaction(async (tx) => {
      const payment = await tx.lock(paymentId);
      if (payment === null) throw notFound('Payment', paymentId);
      if (payment.status !== 'CAPTURED' && payment.status !== 'PARTIALLY_REFUNDED') {
        throw conflict(`Only a captured payment can be refunded; this one is ${payment.status}`, {
          status: payment.status,
        });
      }
      const left = await this.refundable(tx, payment);
      if (left === 0) throw conflict('Nothing is left to refund on this payment');
      const amount = valid.amount ? toMinorUnits(valid.amount) : left;
      if (amount > left) {
        throw badUserInput(
          `The refund (${fromMinorUnits(amount)}) exceeds what is left to refund (${fromMinorUnits(left)})`,
          { field: 'amount' },
        );
      }
      return tx.createRefund({
        paymentId,
        amount: fromMinorUnits(amount),
        reason: valid.reason || null,
        restock: valid.restock ?? false,
        requestedBy: admin.userId,
      });
    });
    const refunded = await this.completeRefund(refund, 'API');
    this.logger.info({ paymentId, refundId: refund.id, amount: refund.amount, by: admin.userId }, 'refunded');
    return refunded;
  }

  /** Minor units not yet refunded or being refunded. */
  private async refundable(tx: Tx, payment: PaymentRecord): Promise<number> {
    const refunds = await tx.refundsOf([payment.id]);
    const reserved = refunds
      .filter((refund) => refund.status !== 'FAILED')
      .reduce((sum, refund) => sum + toMinorUnits(refund.amount), 0);
    return toMinorUnits(payment.capturedAmount) - reserved;
  }

  /** Asks Stripe for a PENDING refund (its key: the refund's id), then settles it. */
  private async completeRefund(refund: RefundRecord, source: TransitionSource): Promise<PaymentRecord> {
    const payment = (await this.repository.findById(refund.paymentId)) as PaymentRecord;
    let stripeRefund: { id: string };
    try {
      stripeRefund = await this.provider.refund(
        {
          paymentIntentId: payment.stripePaymentIntentId as string,
          amount: toMinorUnits(refund.amount),
          metadata: { refund_id: refund.id, payment_id: payment.id, order_id: payment.orderId },
        },
        stripeKey('refund', refund.id),
      );
    } catch (error) {
      if (error instanceof ProviderError) {
        await this.repository.updateRefund(refund.id, { status: 'FAILED' });
        throw conflict(`Stripe refused the refund: ${error.message}`, { stripeCode: error.code });
      }
      // Network trouble: the PENDING refund keeps its amount reserved; a retry reuses its Stripe key.
      throw error;
    }
    return this.repository.transaction((tx, enqueue) =>
      this.settleRefund(tx, enqueue, { refundId: refund.id, stripeRefundId: stripeRefund.id }, source),
    );
  }

  /**
   * A refund Stripe made: marks it SUCCEEDED once (the API answer and the webhook may both report it) and
   * moves the payment to PARTIALLY_REFUNDED or REFUNDED. A refund made elsewhere (the Dashboard) is recorded.
   */
  private async settleRefund(
    tx: Tx,
    enqueue: Enqueue,
    refund: { refundId?: string; stripeRefundId: string; paymentId?: string; amount?: number },
    source: TransitionSource,
  ): Promise<PaymentRecord> {
    const find = async () =>
      (refund.refundId ? await tx.findRefund({ id: refund.refundId }) : null) ??
      (await tx.findRefund({ stripeRefundId: refund.stripeRefundId }));
    const paymentId = (await find())?.paymentId ?? refund.paymentId;
    if (!paymentId) throw new Error(`refund ${refund.stripeRefundId} belongs to no payment`);
    // Read again under the payment's lock: the API answer and the webhook may settle it at the same time.
    const payment = (await tx.lock(paymentId)) as PaymentRecord;
    let ours = await find();
    if (ours?.status === 'SUCCEEDED') return payment;
    if (ours) {
      ours = await tx.updateRefund(ours.id, { status: 'SUCCEEDED', stripeRefundId: refund.stripeRefundId });
    } else {
      ours = await tx.createRefund({
        paymentId,
        amount: fromMinorUnits(refund.amount ?? 0),
        reason: 'refunded outside the shop',
        restock: false,
        requestedBy: null,
        status: 'SUCCEEDED',
        stripeRefundId: refund.stripeRefundId,
      });
    }
    const refunded = toMinorUnits(payment.refundedAmount) + toMinorUnits(ours.amount);
    const to = refunded >= toMinorUnits(payment.capturedAmount) ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
    const moved = await this.transition(tx, enqueue, payment, to, source, {
      notes: `refunded ${ours.amount}${ours.reason ? `: ${ours.reason}` : ''}`,
      changes: { refundedAmount: fromMinorUnits(refunded) },
      refund: { amount: ours.amount, restock: ours.restock },
    });
    if (moved === 'refused') {
      this.logger.warn({ paymentId, status: payment.status }, 'refund on a payment that is not captured');
      return payment;
    }
    return moved;
  }

  // --- order and inventory events --------------------------------------------------------------------------

  /** `order.placed`: a PENDING payment for the order's total (or CANCELLED, when its cancel came first). */
  async onOrderPlaced(event: EventEnvelope<'order.placed'>): Promise<void> {
    const { orderId, userId, total } = event.data;
    const created = await this.repository.transaction(async (tx, enqueue) => {
      const created = await tx.claimAndCreatePending(
        { group: CONSUMER_GROUP, eventId: event.id },
        { orderId, userId, amount: total.amount, currency: total.currency, metadata: {} },
        { source: 'EVENT', notes: 'order placed' },
      );
      if (created === null) return false;
      const cancelled = await tx.findCancellation(orderId);
      if (cancelled) {
        await this.transition(tx, enqueue, created, 'CANCELLED', 'EVENT', {
          notes: `order cancelled before it was placed here (${cancelled.reason})`,
        });
      }
      return true;
    });
    if (created) this.arrivals.announce(orderId);
  }

  /** `order.shipped`: captures the authorised payment. */
  async onOrderShipped(event: EventEnvelope<'order.shipped'>): Promise<void> {
    const payment = await this.repository.findByOrderId(event.data.orderId);
    let intent: ProviderIntent | undefined;
    if (payment?.status === 'AUTHORIZED' && payment.stripePaymentIntentId) {
      const intentId = payment.stripePaymentIntentId;
      intent = await this.tolerate(() =>
        this.provider.captureIntent(intentId, stripeKey('capture', payment.id)),
      );
    } else {
      this.logger.warn(
        { orderId: event.data.orderId, status: payment?.status ?? null },
        'order shipped without an authorised payment: nothing captured',
      );
    }
    await this.repository.transaction(async (tx, enqueue) => {
      if (!(await tx.claimEvent(CONSUMER_GROUP, event.id))) return;
      if (payment && intent)
        await this.applyCapture(tx, enqueue, payment.id, intent, 'EVENT', 'captured on shipment');
    });
  }

  /** `order.cancelled`: releases an uncaptured intent, refunds a captured one (no restock: orders decides). */
  async onOrderCancelled(event: EventEnvelope<'order.cancelled'>): Promise<void> {
    const { orderId, reason } = event.data;
    await this.cancelForOrder(event, orderId, `order cancelled (${reason})`, true);
  }

  /** `inventory.reservation-failed`: no stock (or it expired before payment): the uncaptured intent is released. */
  async onReservationFailed(event: EventEnvelope<'inventory.reservation-failed'>): Promise<void> {
    const { orderId, reason } = event.data;
    await this.cancelForOrder(event, orderId, `stock not reserved (${reason})`, false);
  }

  private async cancelForOrder(
    event: EventEnvelope,
    orderId: string,
    notes: string,
    refundCaptured: boolean,
  ): Promise<void> {
    const payment = await this.repository.findByOrderId(orderId);
    if (payment !== null && refundCaptured && !isUncaptured(payment.status)) {
      await this.refundRemainder(payment, notes);
    }
    if (payment !== null && isUncaptured(payment.status) && payment.stripePaymentIntentId) {
      const intentId = payment.stripePaymentIntentId;
      const cancelled = await this.tolerate(() =>
        this.provider.cancelIntent(intentId, stripeKey('cancel', payment.id)),
      );
      if (!cancelled) {
        // Stripe says it cannot be cancelled: look at what the intent is (captured meanwhile → refund).
        const intent = await this.stripe(() => this.provider.retrieveIntent(intentId));
        if (intent.status === 'succeeded' && refundCaptured) {
          await this.repository.transaction((tx, enqueue) =>
            this.applyCapture(tx, enqueue, payment.id, intent, 'EVENT', 'captured before the cancellation'),
          );
          const captured = (await this.repository.findById(payment.id)) as PaymentRecord;
          await this.refundRemainder(captured, notes);
        }
      }
    }
    await this.repository.transaction(async (tx, enqueue) => {
      if (!(await tx.claimEvent(CONSUMER_GROUP, event.id))) return;
      if (payment === null) {
        await tx.recordCancellation(orderId, notes);
        return;
      }
      const locked = (await tx.lock(payment.id)) as PaymentRecord;
      if (isUncaptured(locked.status))
        await this.transition(tx, enqueue, locked, 'CANCELLED', 'EVENT', { notes });
    });
  }

  /** Refunds what is left of a capture; a PENDING refund left by a crash is completed with its own key. */
  private async refundRemainder(payment: PaymentRecord, reason: string): Promise<void> {
    const refund = await this.repository.transaction(async (tx) => {
      const locked = (await tx.lock(payment.id)) as PaymentRecord;
      if (locked.status !== 'CAPTURED' && locked.status !== 'PARTIALLY_REFUNDED') return null;
      const pending = (await tx.refundsOf([payment.id])).find((r) => r.status === 'PENDING');
      if (pending) return pending;
      const left = await this.refundable(tx, locked);
      if (left <= 0) return null;
      return tx.createRefund({
        paymentId: payment.id,
        amount: fromMinorUnits(left),
        reason,
        restock: false,
        requestedBy: null,
      });
    });
    if (refund) await this.completeRefund(refund, 'EVENT');
  }

  // --- Stripe webhooks -------------------------------------------------------------------------------------

  /**
   * `POST /webhooks/stripe`: verifies the signature over the raw body (BAD_USER_INPUT → 400 otherwise), then
   * applies the event once (the inbox row commits with its effects). A late or out-of-order event whose
   * transition the status machine refuses is recorded and ignored: Stripe gets 200 and stops retrying.
   */
  async handleWebhook(
    rawBody: unknown,
    signature: string | string[] | undefined,
  ): Promise<{ outcome: string }> {
    if (!Buffer.isBuffer(rawBody) || typeof signature !== 'string' || signature === '') {
      throw badUserInput('A Stripe webhook needs its raw body and a Stripe-Signature header');
    }
    let event: Stripe.Event;
    try {
      event = this.provider.verifyWebhook(rawBody, signature, this.settings.webhookToleranceSeconds);
    } catch (error) {
      throw badUserInput(
        `Webhook signature verification failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const object = event.data.object as { id?: string };
    if (
      !(event.type in webhookTargets) &&
      event.type !== 'refund.created' &&
      event.type !== 'refund.updated'
    ) {
      // A type this shop does not act on (payment_intent.created on every payment): its inbox row is written
      // with its outcome in one statement, no transaction (was BEGIN, the row, its outcome, COMMIT).
      const fresh = await this.repository.receiveWebhookEvent(
        {
          id: event.id,
          type: event.type,
          objectId: object.id ?? null,
          createdAt: new Date(event.created * 1000),
        },
        IGNORED_TYPE,
      );
      const outcome = fresh ? IGNORED_TYPE : 'duplicate';
      if (fresh) this.logger.info({ eventId: event.id, type: event.type, outcome }, 'stripe webhook');
      return { outcome };
    }
    return this.repository.transaction(async (tx, enqueue) => {
      const fresh = await tx.receiveWebhookEvent({
        id: event.id,
        type: event.type,
        objectId: object.id ?? null,
        createdAt: new Date(event.created * 1000),
      });
      if (!fresh) return { outcome: 'duplicate' };
      const outcome = await this.applyStripeEvent(tx, enqueue, event);
      await tx.setWebhookOutcome(event.id, outcome);
      this.logger.info({ eventId: event.id, type: event.type, outcome }, 'stripe webhook');
      return { outcome };
    });
  }

  private async applyStripeEvent(tx: Tx, enqueue: Enqueue, event: Stripe.Event): Promise<string> {
    if (event.type === 'refund.created' || event.type === 'refund.updated') {
      const refund = event.data.object;
      if (refund.status !== 'succeeded') return `ignored: refund ${refund.status}`;
      const intentId =
        typeof refund.payment_intent === 'string' ? refund.payment_intent : refund.payment_intent?.id;
      const payment = intentId ? await tx.findByIntentId(intentId) : null;
      if (!payment) return 'ignored: no payment of ours';
      const refundId = refund.metadata?.refund_id;
      await this.settleRefund(
        tx,
        enqueue,
        {
          ...(refundId ? { refundId } : {}),
          stripeRefundId: refund.id,
          paymentId: payment.id,
          amount: refund.amount,
        },
        'WEBHOOK',
      );
      return 'applied';
    }
    const to = webhookTargets[event.type];
    if (!to) return IGNORED_TYPE;
    const intent = event.data.object as Stripe.PaymentIntent;
    if (to === 'AUTHORIZED' && intent.status !== 'requires_capture')
      return `ignored: intent ${intent.status}`;
    // Found and locked in one statement (was a read, then the lock and a second read).
    const payment =
      (await tx.lockByIntentId(intent.id)) ??
      (intent.metadata?.payment_id ? await tx.lock(intent.metadata.payment_id) : null);
    if (!payment) return 'ignored: no payment of ours';
    if (to === 'CAPTURED' && payment.status === 'CAPTURED') return 'ignored: already CAPTURED';
    const failureReason = intent.last_payment_error?.message ?? 'The payment failed';
    const moved = await this.transition(tx, enqueue, payment, to, 'WEBHOOK', {
      notes: `${event.type} (${event.id})`,
      changes: {
        ...(payment.stripePaymentIntentId === null ? { stripePaymentIntentId: intent.id } : {}),
        ...(to === 'CAPTURED' ? { capturedAmount: fromMinorUnits(intent.amount_received) } : {}),
        failureReason: to === 'FAILED' ? failureReason : null,
      },
      failureReason,
    });
    // Late, twice under another id, or out of order: Stripe's later state is already ours.
    return moved === 'refused' ? `ignored: payment is ${payment.status}` : 'applied';
  }

  // --- the status machine ----------------------------------------------------------------------------------

  /** Inside a transaction: the capture Stripe confirmed, once (a webhook may have recorded it first). */
  private async applyCapture(
    tx: Tx,
    enqueue: Enqueue,
    paymentId: string,
    intent: ProviderIntent,
    source: TransitionSource,
    notes: string,
  ): Promise<PaymentRecord> {
    const payment = (await tx.lock(paymentId)) as PaymentRecord;
    if (
      payment.status === 'CAPTURED' ||
      payment.status === 'PARTIALLY_REFUNDED' ||
      payment.status === 'REFUNDED'
    ) {
      return payment;
    }
    const moved = await this.transition(tx, enqueue, payment, 'CAPTURED', source, {
      notes,
      changes: { capturedAmount: fromMinorUnits(intent.amountReceived) },
    });
    if (moved === 'refused') throw conflict(`A ${payment.status} payment cannot be captured`);
    return moved;
  }

  /**
   * One checked transition of a locked payment: the row, its history and its events. 'refused' when the
   * status machine does not allow it (callers decide: an API call fails, a stale webhook is ignored). A capture
   * seen before its authorisation passes through AUTHORIZED, so `payment.authorized` is never skipped.
   */
  private async transition(
    tx: Tx,
    enqueue: Enqueue,
    payment: PaymentRecord,
    to: PaymentStatus,
    source: TransitionSource,
    options: TransitionOptions = {},
  ): Promise<PaymentRecord | 'refused'> {
    if (!canTransition(payment.status, to)) return 'refused';
    let current = payment;
    if (to === 'CAPTURED' && current.status !== 'AUTHORIZED') {
      const authorised = await this.transition(tx, enqueue, current, 'AUTHORIZED', source, {
        notes: 'authorisation seen with its capture',
        changes: { failureReason: null },
      });
      if (authorised === 'refused') return 'refused';
      current = authorised;
    }
    const updated = await tx.update(current.id, { ...options.changes, status: to });
    await tx.addHistory({
      paymentId: current.id,
      from: current.status,
      status: to,
      source,
      notes: options.notes ?? null,
    });
    await enqueue(
      ...transitionEvents(updated, current.status, {
        ...(options.failureReason !== undefined ? { failureReason: options.failureReason } : {}),
        ...(options.refund ? { refund: options.refund } : {}),
      }),
    );
    return updated;
  }

  /** A Stripe call for a client: Stripe's refusals become CONFLICT with Stripe's message. */
  private async stripe<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof ProviderError) {
        throw conflict(`Stripe refused: ${error.message}`, { stripeCode: error.code });
      }
      throw error;
    }
  }

  /** A Stripe call for an event handler: a state Stripe refuses is logged (undefined); outages throw (retry). */
  private async tolerate<T>(work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof ProviderError) {
        this.logger.warn({ err: error, code: error.code }, 'stripe refused');
        return undefined;
      }
      throw error;
    }
  }

  /** Deletes expired idempotency keys (a periodic job); returns how many. */
  purgeIdempotencyKeys(limit: number): Promise<number> {
    return this.repository.purgeIdempotency(new Date(), limit);
  }
}

/** Deterministic Stripe idempotency keys: the same operation on the same thing is the same Stripe request. */
function stripeKey(operation: 'payment-intent' | 'capture' | 'cancel' | 'refund', id: string): string {
  return `shop-${operation}-${id}`;
}
