import type { Logger } from '@shop/kit';
import type { LocalServices } from '@shop/runtime';
import { LocalStripeServer } from './server';

/** The keys of the local server: not secrets (it runs on 127.0.0.1 and holds nothing real). */
export const LOCAL_STRIPE_SECRET_KEY = 'sk_test_local_shop';
export const LOCAL_STRIPE_WEBHOOK_SECRET = 'whsec_local_shop';

/**
 * The payments subgraph's `localServices`: without STRIPE_SECRET_KEY, a local Stripe-compatible server on
 * LOCAL_STRIPE_PORT (12111 for `pnpm start`, a free port in tests), and once the subgraph listens, its
 * webhooks go to the subgraph's `/webhooks/stripe`. With a real key, nothing is started.
 */
export async function startLocalStripe(context: {
  env: Record<string, string | undefined>;
  logger: Logger;
}): Promise<LocalServices | undefined> {
  if (context.env.STRIPE_SECRET_KEY) return undefined;
  const port = Number(context.env.LOCAL_STRIPE_PORT ?? (context.env.NODE_ENV === 'test' ? 0 : 12_111));
  const server = new LocalStripeServer({
    secretKey: LOCAL_STRIPE_SECRET_KEY,
    webhookSecret: LOCAL_STRIPE_WEBHOOK_SECRET,
    logger: context.logger.child({ service: 'local-stripe' }),
  });
  const url = await server.listen(port);
  return {
    env: {
      STRIPE_SECRET_KEY: LOCAL_STRIPE_SECRET_KEY,
      STRIPE_WEBHOOK_SECRET: LOCAL_STRIPE_WEBHOOK_SECRET,
      STRIPE_API_URL: url,
    },
    describe: [`Stripe (local)            ${url}  (secret key ${LOCAL_STRIPE_SECRET_KEY})`],
    afterLaunch: (subgraphUrl) => server.setWebhookUrl(new URL('/webhooks/stripe', subgraphUrl).toString()),
    stop: () => server.close(),
  };
}
