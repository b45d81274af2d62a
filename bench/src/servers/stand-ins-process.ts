// Child process of `subgraph-processes.ts`: the stand-ins for the services a deployment buys, not runs: the
// local Stripe-compatible server and the SMTP sink, in a process of their own so that the CPU they use is
// theirs in the bench's accounting, not payments' or notifications'. Prints one JSON line `{"ready": {...}}`
// on stdout, then runs until SIGTERM.
import { createLogger } from '@shop/kit';
import { startLocalMail } from '../../../subgraphs/notifications/src/local-mail';
import { LocalStripeServer } from '../../../subgraphs/payments/src/local-stripe/server';
import {
  LOCAL_STRIPE_SECRET_KEY,
  LOCAL_STRIPE_WEBHOOK_SECRET,
} from '../../../subgraphs/payments/src/local-stripe/services';

const stripe = new LocalStripeServer({
  secretKey: LOCAL_STRIPE_SECRET_KEY,
  webhookSecret: LOCAL_STRIPE_WEBHOOK_SECRET,
  logger: createLogger('local-stripe', 'silent'),
});
const stripeApiUrl = await stripe.listen(0);
const mail = await startLocalMail({ smtpPort: 0, httpPort: 0 });
const ready = {
  // What payments and notifications are launched with instead of starting stand-ins of their own.
  env: {
    STRIPE_SECRET_KEY: LOCAL_STRIPE_SECRET_KEY,
    STRIPE_WEBHOOK_SECRET: LOCAL_STRIPE_WEBHOOK_SECRET,
    STRIPE_API_URL: stripeApiUrl,
    SMTP_HOST: mail.host,
    SMTP_PORT: String(mail.smtpPort),
  },
};
process.stdout.write(`${JSON.stringify({ ready })}\n`);

const stop = async () => {
  await Promise.allSettled([stripe.close(), mail.stop()]);
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
