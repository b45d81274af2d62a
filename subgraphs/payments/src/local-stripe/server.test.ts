import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalStripeServer } from './server';

const secretKey = 'sk_test_delivery';
const webhookSecret = 'whsec_delivery';

interface Received {
  type: string;
  intent: string;
}

/** A webhook endpoint that records each event and answers when `hold` (if any) lets it. */
async function startEndpoint(hold: (event: Received) => Promise<void> | undefined) {
  const received: Received[] = [];
  const server: Server = createServer((request: IncomingMessage, response) => {
    let raw = '';
    request.on('data', (chunk) => {
      raw += chunk;
    });
    request.on('end', () => {
      const event = JSON.parse(raw) as {
        type: string;
        data: { object: { id: string; payment_intent?: string } };
      };
      const entry = { type: event.type, intent: event.data.object.payment_intent ?? event.data.object.id };
      received.push(entry);
      void Promise.resolve(hold(entry)).then(() => response.writeHead(200).end('{}'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/stripe`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const until = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('local Stripe webhook delivery', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setUp(
    concurrency: number | undefined,
    hold: (event: Received) => Promise<void> | undefined,
  ) {
    const endpoint = await startEndpoint(hold);
    cleanups.push(endpoint.close);
    const server = new LocalStripeServer({
      secretKey,
      webhookSecret,
      webhookUrl: endpoint.url,
      ...(concurrency === undefined ? {} : { webhookConcurrency: concurrency }),
    });
    const api = new URL(await server.listen());
    cleanups.push(() => server.close());
    const stripe = new Stripe(secretKey, { host: api.hostname, port: api.port, protocol: 'http' });
    const payCard = async () => {
      const intent = await stripe.paymentIntents.create({
        amount: 1000,
        currency: 'usd',
        capture_method: 'manual',
      });
      await stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' });
      return intent.id;
    };
    return { received: endpoint.received, payCard };
  }

  it("sends other intents' events while one intent's delivery hangs, each intent's in order", async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The first event sent is held: its webhook can arrive before payCard() has even returned the intent's id.
    let held: string | undefined;
    const { received, payCard } = await setUp(undefined, (event) => {
      if (held !== undefined) return undefined;
      held = event.intent;
      return released;
    });
    const slow = await payCard();
    const others = [await payCard(), await payCard()];
    expect(held).toBe(slow);
    // The slow intent's first event is still unanswered; the other two intents are delivered meanwhile.
    await waitFor(
      () => others.every((id) => received.filter((event) => event.intent === id).length === 2),
      "the other intents' events",
    );
    expect(received.filter((event) => event.intent === slow).map((event) => event.type)).toEqual([
      'payment_intent.created',
    ]);
    release();
    await waitFor(
      () => received.filter((event) => event.intent === slow).length === 2,
      "the slow intent's events",
    );
    for (const id of [slow, ...others]) {
      expect(received.filter((event) => event.intent === id).map((event) => event.type)).toEqual([
        'payment_intent.created',
        'payment_intent.amount_capturable_updated',
      ]);
    }
  });

  it('with a concurrency of 1, every event waits for the one before it', async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let first = true;
    const { received, payCard } = await setUp(1, () => {
      if (!first) return undefined;
      first = false;
      return released;
    });
    const slow = await payCard();
    await payCard();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received.map((event) => event.intent)).toEqual([slow]);
    release();
    await waitFor(() => received.length === 4, 'all four events');
    expect(received.slice(0, 2).map((event) => event.intent)).toEqual([slow, slow]);
  });
});
