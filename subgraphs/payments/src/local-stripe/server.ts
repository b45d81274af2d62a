import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@shop/kit';
import { canonical, decodeForm, type FormObject, type FormValue } from './form';

/** How long an undeliverable webhook is retried before it is dropped. */
const WEBHOOK_RETRY_FOR_MS = 180_000;
/**
 * How long one delivery may go unanswered: a request that hangs is given up and retried, as Stripe gives up on
 * a slow endpoint, instead of holding every later event of the queue behind it for good.
 */
const WEBHOOK_TIMEOUT_MS = 10_000;
/**
 * How many PaymentIntents' webhooks are in flight at once. Stripe sends events of different objects in parallel
 * (and promises no order at all); this stand-in keeps each intent's events in order, one at a time, and sends up
 * to this many intents' at once, so one slow or failing delivery holds only its own intent's later events.
 */
const DEFAULT_WEBHOOK_CONCURRENCY = 8;

/**
 * A Stripe-compatible server for development and tests (Stripe itself is out of reach here, stripe-mock is
 * stateless): in memory, plain node:http, only what the payments subgraph and its tests call. The real
 * `stripe` SDK talks to it (host/port/protocol options). It keeps PaymentIntents and Refunds with Stripe's
 * status machine, honours `Idempotency-Key`, and sends webhooks signed exactly as Stripe signs them.
 *
 *   POST /v1/payment_intents                 create (amount, currency, capture_method, metadata, confirm)
 *   GET  /v1/payment_intents/:id             retrieve
 *   POST /v1/payment_intents/:id/confirm     payment_method: pm_card_visa (success), pm_card_chargeDeclined
 *   POST /v1/payment_intents/:id/capture     amount_to_capture (≤ amount_capturable)
 *   POST /v1/payment_intents/:id/cancel      cancellation_reason
 *   POST /v1/refunds, GET /v1/refunds/:id    payment_intent, amount (≤ what is left), reason, metadata
 *
 * Not Stripe's: `POST /_local/webhooks` { url?, paused? } sets where webhooks go (or holds them),
 * `GET /_local/events` lists every event sent so far (tests replay them late, twice, out of order).
 */

export interface LocalStripeOptions {
  /** The only secret key accepted (Bearer or Basic, as Stripe accepts). */
  secretKey: string;
  /** Signs every webhook (`Stripe-Signature: t=…,v1=…`). */
  webhookSecret: string;
  /** Where webhooks go; set later with `setWebhookUrl` (or `POST /_local/webhooks`). */
  webhookUrl?: string;
  /** Intents whose webhooks are delivered at the same time (default 8; 1 sends every event in order). */
  webhookConcurrency?: number;
  logger?: Logger;
}

type Json = Record<string, unknown>;

interface PaymentIntent extends Json {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_capturable: number;
  amount_received: number;
  currency: string;
  status:
    | 'requires_payment_method'
    | 'requires_confirmation'
    | 'requires_action'
    | 'processing'
    | 'requires_capture'
    | 'succeeded'
    | 'canceled';
  capture_method: 'automatic' | 'automatic_async' | 'manual';
  client_secret: string;
  metadata: Record<string, string>;
  payment_method: string | null;
  last_payment_error: Json | null;
  canceled_at: number | null;
  cancellation_reason: string | null;
  created: number;
  livemode: false;
  /** Not Stripe's field on the intent (Stripe keeps it on the charge): what refunds have taken back. */
  amount_refunded: number;
}

interface Refund extends Json {
  id: string;
  object: 'refund';
  amount: number;
  currency: string;
  payment_intent: string;
  status: 'succeeded';
  reason: string | null;
  metadata: Record<string, string>;
  created: number;
}

export interface StripeEvent {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  type: string;
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  data: { object: Json };
}

/** A Stripe API error: its JSON shape `{ error: { type, code, message, … } }` and HTTP status. */
class StripeApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Json,
  ) {
    super(String(body.message));
  }
}

const invalid = (message: string, extra: Json = {}) =>
  new StripeApiError(400, { type: 'invalid_request_error', message, ...extra });
const missing = (kind: string, id: string, param = 'id') =>
  new StripeApiError(404, {
    type: 'invalid_request_error',
    code: 'resource_missing',
    param,
    message: `No such ${kind}: '${id}'`,
  });
const unexpectedState = (intent: PaymentIntent, action: string) =>
  invalid(
    `This PaymentIntent's ${action} could not be performed because it has a status of ${intent.status}.`,
    { code: 'payment_intent_unexpected_state', payment_intent: intent },
  );

/** Stripe's test payment methods this server knows: the first succeeds, the second is declined. */
const testCards: Record<string, { declined: boolean }> = {
  pm_card_visa: { declined: false },
  pm_card_mastercard: { declined: false },
  pm_card_chargeDeclined: { declined: true },
};

const API_VERSION = '2026-10-28.endive';
const now = () => Math.floor(Date.now() / 1000);
const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;

/** Stripe's signature: HMAC-SHA256 of `${t}.${payload}` with the endpoint secret, hex. */
export function stripeSignature(payload: string, secret: string, timestamp = now()): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

function text(value: FormValue | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function positiveInteger(value: FormValue | undefined, param: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d+$/.test(value) || Number(value) < 1) {
    throw invalid(`Invalid integer: ${typeof value === 'string' ? value : param}`, { param });
  }
  return Number(value);
}

function metadataOf(value: FormValue | undefined): Record<string, string> {
  if (value === undefined || value === '') return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid('Invalid hash', { param: 'metadata' });
  const entries = Object.entries(value).filter(
    (entry): entry is [string, string] => typeof entry[1] === 'string',
  );
  return Object.fromEntries(entries);
}

/** An event's delivery lane: its PaymentIntent (a refund's is the intent it refunds). */
function laneOf(event: StripeEvent): string {
  const object = event.data.object as { id?: unknown; payment_intent?: unknown };
  return String(object.payment_intent ?? object.id ?? event.id);
}

export class LocalStripeServer {
  private readonly server: Server;
  private readonly intents = new Map<string, PaymentIntent>();
  private readonly refunds = new Map<string, Refund>();
  private readonly idempotency = new Map<string, { fingerprint: string; status: number; body: Json }>();
  private readonly events: StripeEvent[] = [];
  /** Events not yet delivered, by lane (the PaymentIntent they belong to), each lane in the order sent. */
  private readonly lanes = new Map<string, StripeEvent[]>();
  /** Lanes that have events waiting, oldest first (a Set keeps insertion order). */
  private readonly waiting = new Set<string>();
  /** Lanes being delivered now: each sends its events one at a time. */
  private readonly delivering = new Map<string, Promise<void>>();
  private webhookUrl: string | undefined;
  private paused = false;
  private closed = false;

  constructor(private readonly options: LocalStripeOptions) {
    this.webhookUrl = options.webhookUrl;
    this.server = createServer((request, response) => {
      void this.handle(request, response);
    });
  }

  /** Listens on 127.0.0.1 (port 0: a free one); resolves with its base URL. */
  async listen(port = 0): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  setWebhookUrl(url: string | undefined): void {
    this.webhookUrl = url;
    this.kick();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all(this.delivering.values());
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestId = newId('req');
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, {
        'content-type': 'application/json',
        'request-id': requestId,
        'stripe-version': API_VERSION,
        ...headers,
      });
      response.end(JSON.stringify(body));
    };
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const raw = Buffer.concat(chunks).toString('utf8');
      const url = new URL(request.url ?? '/', 'http://localhost');
      const method = request.method ?? 'GET';

      if (url.pathname.startsWith('/_local/')) {
        send(200, this.control(method, url.pathname, raw));
        return;
      }
      if (!this.authorised(request.headers.authorization)) {
        send(401, {
          error: {
            type: 'invalid_request_error',
            message: 'Invalid API Key provided.',
          },
        });
        return;
      }
      const params = method === 'GET' ? decodeForm(url.search.slice(1)) : decodeForm(raw);
      const key = request.headers['idempotency-key'];
      if (method !== 'POST' || typeof key !== 'string' || key === '') {
        const { status, body } = this.run(method, url.pathname, params, { requestId, key: null });
        send(status, body);
        return;
      }
      // Stripe's idempotency: the first result of a key is replayed for the same request; the same key with
      // other parameters (or on another endpoint) is an error.
      const fingerprint = `${method} ${url.pathname} ${canonical(params)}`;
      const stored = this.idempotency.get(key);
      if (stored) {
        if (stored.fingerprint !== fingerprint) {
          send(400, {
            error: {
              type: 'idempotency_error',
              message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
            },
          });
          return;
        }
        send(stored.status, stored.body, { 'idempotent-replayed': 'true', 'idempotency-key': key });
        return;
      }
      const { status, body } = this.run(method, url.pathname, params, { requestId, key });
      this.idempotency.set(key, { fingerprint, status, body });
      send(status, body, { 'idempotency-key': key });
    } catch (error) {
      this.options.logger?.error({ err: error }, 'local stripe failed');
      send(500, { error: { type: 'api_error', message: 'An unknown error occurred' } });
    }
  }

  private authorised(header: string | undefined): boolean {
    if (!header) return false;
    const [scheme, value] = header.split(' ');
    if (scheme === 'Bearer') return value === this.options.secretKey;
    if (scheme === 'Basic' && value) {
      return Buffer.from(value, 'base64').toString('utf8').split(':')[0] === this.options.secretKey;
    }
    return false;
  }

  private control(method: string, path: string, raw: string): unknown {
    if (method === 'GET' && path === '/_local/events') return { data: this.events };
    if (method === 'POST' && path === '/_local/webhooks') {
      const body = (raw ? JSON.parse(raw) : {}) as { url?: string | null; paused?: boolean };
      if (body.url !== undefined) this.webhookUrl = body.url ?? undefined;
      if (body.paused !== undefined) this.paused = body.paused;
      this.kick();
      return { url: this.webhookUrl ?? null, paused: this.paused };
    }
    return { error: { type: 'invalid_request_error', message: `Unknown request ${method} ${path}` } };
  }

  /** One API call: the status and JSON body, errors in Stripe's shape. */
  private run(
    method: string,
    path: string,
    params: FormObject,
    request: { requestId: string; key: string | null },
  ): { status: number; body: Json } {
    try {
      return { status: 200, body: this.route(method, path, params, request) };
    } catch (error) {
      if (error instanceof StripeApiError) {
        return { status: error.status, body: { error: { ...error.body, request_log_url: null } } };
      }
      throw error;
    }
  }

  private route(
    method: string,
    path: string,
    params: FormObject,
    request: { requestId: string; key: string | null },
  ): Json {
    const parts = path.split('/').filter(Boolean);
    if (parts[0] !== 'v1') throw invalid(`Unrecognized request URL (${method}: ${path}).`);
    const [, resource, id, action] = parts;
    const emit = (type: string, object: Json) => this.emit(type, object, request);
    if (resource === 'payment_intents') {
      if (method === 'POST' && id === undefined) return this.createIntent(params, emit);
      if (id === undefined) throw invalid(`Unrecognized request URL (${method}: ${path}).`);
      const intent = this.intents.get(id);
      if (!intent) throw missing('payment_intent', id);
      if (method === 'GET' && action === undefined) return intent;
      if (method === 'POST' && action === 'confirm') return this.confirm(intent, params, emit);
      if (method === 'POST' && action === 'capture') return this.capture(intent, params, emit);
      if (method === 'POST' && action === 'cancel') return this.cancel(intent, params, emit);
    }
    if (resource === 'refunds') {
      if (method === 'POST' && id === undefined) return this.refund(params, emit);
      if (method === 'GET' && id !== undefined) {
        const refund = this.refunds.get(id);
        if (!refund) throw missing('refund', id);
        return refund;
      }
    }
    throw invalid(`Unrecognized request URL (${method}: ${path}).`);
  }

  private createIntent(params: FormObject, emit: (type: string, object: Json) => void): Json {
    const amount = positiveInteger(params.amount, 'amount');
    if (amount === undefined) throw invalid('Missing required param: amount.', { param: 'amount' });
    const currency = text(params.currency)?.toLowerCase();
    if (!currency || !/^[a-z]{3}$/.test(currency)) {
      throw invalid('Missing required param: currency.', { param: 'currency' });
    }
    const captureMethod = text(params.capture_method) ?? 'automatic';
    if (!['automatic', 'automatic_async', 'manual'].includes(captureMethod)) {
      throw invalid(`Invalid capture_method: ${captureMethod}`, { param: 'capture_method' });
    }
    const paymentMethod = text(params.payment_method) ?? null;
    if (paymentMethod !== null && !testCards[paymentMethod]) {
      throw missing('PaymentMethod', paymentMethod, 'payment_method');
    }
    const id = newId('pi');
    const intent: PaymentIntent = {
      id,
      object: 'payment_intent',
      amount,
      amount_capturable: 0,
      amount_received: 0,
      amount_refunded: 0,
      currency,
      status: paymentMethod ? 'requires_confirmation' : 'requires_payment_method',
      capture_method: captureMethod as PaymentIntent['capture_method'],
      client_secret: `${id}_secret_${randomBytes(12).toString('hex')}`,
      metadata: metadataOf(params.metadata),
      payment_method: paymentMethod,
      last_payment_error: null,
      canceled_at: null,
      cancellation_reason: null,
      created: now(),
      livemode: false,
    };
    this.intents.set(id, intent);
    emit('payment_intent.created', intent);
    if (text(params.confirm) === 'true') return this.confirm(intent, {}, emit);
    return { ...intent };
  }

  private confirm(
    intent: PaymentIntent,
    params: FormObject,
    emit: (type: string, object: Json) => void,
  ): Json {
    if (intent.status !== 'requires_payment_method' && intent.status !== 'requires_confirmation') {
      throw unexpectedState(intent, 'confirm');
    }
    const paymentMethod = text(params.payment_method) ?? intent.payment_method;
    if (!paymentMethod) {
      throw invalid(
        "You cannot confirm this PaymentIntent because it's missing a payment method. Update the PaymentIntent with a payment method and then confirm it again.",
        { code: 'payment_intent_unexpected_state', param: 'payment_method' },
      );
    }
    const card = testCards[paymentMethod];
    if (!card) throw missing('PaymentMethod', paymentMethod, 'payment_method');
    intent.payment_method = paymentMethod;
    if (card.declined) {
      // A declined card returns the intent to requires_payment_method: the customer may try another card.
      const error = {
        type: 'card_error',
        code: 'card_declined',
        decline_code: 'generic_decline',
        message: 'Your card was declined.',
        payment_method: { id: paymentMethod, object: 'payment_method' },
      };
      intent.status = 'requires_payment_method';
      intent.last_payment_error = error;
      emit('payment_intent.payment_failed', intent);
      throw new StripeApiError(402, { ...error, payment_intent: { ...intent } });
    }
    intent.last_payment_error = null;
    if (intent.capture_method === 'manual') {
      intent.status = 'requires_capture';
      intent.amount_capturable = intent.amount;
      emit('payment_intent.amount_capturable_updated', intent);
    } else {
      intent.status = 'succeeded';
      intent.amount_received = intent.amount;
      emit('payment_intent.succeeded', intent);
    }
    return { ...intent };
  }

  private capture(
    intent: PaymentIntent,
    params: FormObject,
    emit: (type: string, object: Json) => void,
  ): Json {
    if (intent.status !== 'requires_capture') throw unexpectedState(intent, 'capture');
    const amount = positiveInteger(params.amount_to_capture, 'amount_to_capture') ?? intent.amount_capturable;
    if (amount > intent.amount_capturable) {
      throw invalid('The amount to capture must be less than or equal to the amount capturable.', {
        code: 'amount_too_large',
        param: 'amount_to_capture',
      });
    }
    intent.status = 'succeeded';
    intent.amount_received = amount;
    intent.amount_capturable = 0;
    emit('payment_intent.succeeded', intent);
    return { ...intent };
  }

  private cancel(
    intent: PaymentIntent,
    params: FormObject,
    emit: (type: string, object: Json) => void,
  ): Json {
    if (intent.status === 'succeeded' || intent.status === 'canceled')
      throw unexpectedState(intent, 'cancel');
    const reason = text(params.cancellation_reason) ?? null;
    const reasons = ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'];
    if (reason !== null && !reasons.includes(reason)) {
      throw invalid(`Invalid cancellation_reason: must be one of ${reasons.join(', ')}`, {
        param: 'cancellation_reason',
      });
    }
    intent.status = 'canceled';
    intent.amount_capturable = 0;
    intent.canceled_at = now();
    intent.cancellation_reason = reason;
    emit('payment_intent.canceled', intent);
    return { ...intent };
  }

  private refund(params: FormObject, emit: (type: string, object: Json) => void): Json {
    const intentId = text(params.payment_intent);
    if (!intentId)
      throw invalid(
        'One of the following params should be provided for this request: payment_intent or charge.',
      );
    const intent = this.intents.get(intentId);
    if (!intent) throw missing('payment_intent', intentId, 'payment_intent');
    if (intent.status !== 'succeeded') {
      throw invalid(`This PaymentIntent (${intent.id}) does not have a successful charge to refund.`, {
        code: 'charge_not_refundable',
        param: 'payment_intent',
      });
    }
    const left = intent.amount_received - intent.amount_refunded;
    if (left === 0) {
      throw invalid(`Charge for ${intent.id} has already been refunded.`, {
        code: 'charge_already_refunded',
      });
    }
    const amount = positiveInteger(params.amount, 'amount') ?? left;
    if (amount > left) {
      throw invalid(`Refund amount (${amount}) is greater than unrefunded amount on charge (${left})`, {
        code: 'amount_too_large',
        param: 'amount',
      });
    }
    const reason = text(params.reason) ?? null;
    if (reason !== null && !['duplicate', 'fraudulent', 'requested_by_customer'].includes(reason)) {
      throw invalid(`Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer`, {
        param: 'reason',
      });
    }
    intent.amount_refunded += amount;
    const refund: Refund = {
      id: newId('re'),
      object: 'refund',
      amount,
      currency: intent.currency,
      payment_intent: intent.id,
      status: 'succeeded',
      reason,
      metadata: metadataOf(params.metadata),
      created: now(),
    };
    this.refunds.set(refund.id, refund);
    emit('refund.created', refund);
    return { ...refund };
  }

  private emit(type: string, object: Json, request: { requestId: string; key: string | null }): void {
    const event: StripeEvent = {
      id: newId('evt'),
      object: 'event',
      api_version: API_VERSION,
      created: now(),
      type,
      livemode: false,
      pending_webhooks: 1,
      request: { id: request.requestId, idempotency_key: request.key },
      // A snapshot: later changes of the object do not rewrite an event already sent.
      data: { object: structuredClone(object) },
    };
    this.events.push(event);
    const lane = laneOf(event);
    const queued = this.lanes.get(lane);
    if (queued) queued.push(event);
    else this.lanes.set(lane, [event]);
    if (!this.delivering.has(lane)) this.waiting.add(lane);
    this.kick();
  }

  /**
   * Starts delivering waiting lanes while fewer than `webhookConcurrency` are in flight. A lane sends its events
   * one at a time, in order, retrying a failed delivery with backoff as Stripe does (Stripe for up to three days;
   * this stand-in for three minutes, enough to outlast a restart of the payments subgraph).
   */
  private kick(): void {
    const concurrency = this.options.webhookConcurrency ?? DEFAULT_WEBHOOK_CONCURRENCY;
    for (const lane of this.waiting) {
      if (this.closed || this.paused || !this.webhookUrl || this.delivering.size >= concurrency) return;
      this.waiting.delete(lane);
      this.delivering.set(
        lane,
        this.deliverLane(lane).finally(() => {
          this.delivering.delete(lane);
          // Paused or closed mid-lane: what is left waits for the next kick.
          if ((this.lanes.get(lane)?.length ?? 0) > 0) this.waiting.add(lane);
          else this.lanes.delete(lane);
          if (!this.closed) this.kick();
        }),
      );
    }
  }

  private async deliverLane(lane: string): Promise<void> {
    const queued = this.lanes.get(lane) ?? [];
    while (!this.closed && !this.paused && this.webhookUrl && queued.length > 0) {
      await this.deliver(this.webhookUrl, queued[0] as StripeEvent);
      queued.shift();
    }
  }

  private async deliver(url: string, event: StripeEvent): Promise<void> {
    const giveUpAt = Date.now() + WEBHOOK_RETRY_FOR_MS;
    for (let attempt = 1; Date.now() < giveUpAt && !this.closed; attempt++) {
      const payload = JSON.stringify(event, null, 2);
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'stripe-signature': stripeSignature(payload, this.options.webhookSecret),
            'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
          },
          body: payload,
          signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
        });
        await response.arrayBuffer();
        if (response.ok) return;
        this.options.logger?.warn({ eventId: event.id, status: response.status }, 'webhook refused');
      } catch (error) {
        this.options.logger?.warn({ eventId: event.id, err: error }, 'webhook delivery failed');
      }
      await sleep(Math.min(100 * 2 ** attempt, 5000));
    }
    this.options.logger?.error({ eventId: event.id }, 'webhook never delivered; dropped');
  }
}
