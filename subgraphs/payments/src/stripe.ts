import Stripe from 'stripe';

/** What the payments subgraph asks of Stripe: the few calls it makes, so tests and services see no SDK types. */
export interface PaymentProvider {
  createIntent(
    params: { amount: number; currency: string; metadata: Record<string, string> },
    idempotencyKey: string,
  ): Promise<ProviderIntent>;
  retrieveIntent(id: string): Promise<ProviderIntent>;
  captureIntent(id: string, idempotencyKey: string): Promise<ProviderIntent>;
  cancelIntent(id: string, idempotencyKey: string): Promise<ProviderIntent>;
  refund(
    params: { paymentIntentId: string; amount: number; metadata: Record<string, string> },
    idempotencyKey: string,
  ): Promise<ProviderRefund>;
  /** Verifies `Stripe-Signature` over the raw body; throws on a bad signature or an old timestamp. */
  verifyWebhook(rawBody: Buffer, signature: string, toleranceSeconds: number): Stripe.Event;
}

export interface ProviderIntent {
  id: string;
  status: Stripe.PaymentIntent.Status;
  clientSecret: string;
  amountReceived: number;
}

export interface ProviderRefund {
  id: string;
  amount: number;
  status: string | null;
}

/** A Stripe refusal (invalid request, card error, idempotency mismatch): the code the caller branches on. */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly type: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

export interface StripeSettings {
  STRIPE_SECRET_KEY: string;
  STRIPE_WEBHOOK_SECRET: string;
  /** A Stripe-compatible server (the local one); empty for Stripe itself. */
  STRIPE_API_URL: string;
}

function intentOf(intent: Stripe.PaymentIntent): ProviderIntent {
  return {
    id: intent.id,
    status: intent.status,
    clientSecret: intent.client_secret ?? '',
    amountReceived: intent.amount_received,
  };
}

async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    // Stripe's own refusals become ProviderErrors; network trouble and 5xx stay as they are (retried).
    if (
      error instanceof Stripe.errors.StripeError &&
      error.statusCode !== undefined &&
      error.statusCode < 500
    ) {
      throw new ProviderError(error.message, error.type, error.code);
    }
    throw error;
  }
}

/** The real `stripe` SDK, pointed at STRIPE_API_URL when set (host, port, protocol). */
export function stripeProvider(settings: StripeSettings): PaymentProvider {
  const api = settings.STRIPE_API_URL ? new URL(settings.STRIPE_API_URL) : undefined;
  const stripe = new Stripe(settings.STRIPE_SECRET_KEY, {
    // Retries reuse the request's idempotency key, so a retried POST never charges twice.
    maxNetworkRetries: 2,
    timeout: 20_000,
    ...(api
      ? {
          host: api.hostname,
          port: api.port || (api.protocol === 'https:' ? 443 : 80),
          protocol: api.protocol === 'https:' ? 'https' : 'http',
        }
      : {}),
  });
  return {
    createIntent: (params, idempotencyKey) =>
      call(async () =>
        intentOf(
          await stripe.paymentIntents.create(
            {
              amount: params.amount,
              currency: params.currency.toLowerCase(),
              // Authorised at checkout, captured on shipment or by an admin.
              capture_method: 'manual',
              // Cards and other methods without a redirect: a server-side or CLI confirm needs no return_url.
              automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
              metadata: params.metadata,
            },
            { idempotencyKey },
          ),
        ),
      ),
    retrieveIntent: (id) => call(async () => intentOf(await stripe.paymentIntents.retrieve(id))),
    captureIntent: (id, idempotencyKey) =>
      call(async () => intentOf(await stripe.paymentIntents.capture(id, {}, { idempotencyKey }))),
    cancelIntent: (id, idempotencyKey) =>
      call(async () => intentOf(await stripe.paymentIntents.cancel(id, {}, { idempotencyKey }))),
    refund: (params, idempotencyKey) =>
      call(async () => {
        const refund = await stripe.refunds.create(
          {
            payment_intent: params.paymentIntentId,
            amount: params.amount,
            metadata: params.metadata,
          },
          { idempotencyKey },
        );
        return { id: refund.id, amount: refund.amount, status: refund.status };
      }),
    verifyWebhook: (rawBody, signature, toleranceSeconds) =>
      stripe.webhooks.constructEvent(rawBody, signature, settings.STRIPE_WEBHOOK_SECRET, toleranceSeconds),
  };
}
