// Child process of the bench: every registered subgraph, launched as the e2e tests launch them (own fresh
// databases, shared test keys, Kafka and Redis prefixes, demo seed), until SIGTERM. Prints one JSON line
// `{"ready": {...}}` on stdout with their URLs, database URLs and the key pair.
import { startTestSubgraphs } from '@shop/testing';
import { serveStatementCounts } from './statements';

const started = await startTestSubgraphs({ seed: true });
const ready = {
  urls: Object.fromEntries(Object.entries(started.subgraphs).map(([name, subgraph]) => [name, subgraph.url])),
  databases: Object.fromEntries(
    Object.entries(started.subgraphs).flatMap(([name, subgraph]) =>
      subgraph.database ? [[name, subgraph.database.url]] : [],
    ),
  ),
  // The payments subgraph's local Stripe, where a bench confirms cards as Stripe.js would.
  stripeApiUrl: started.subgraphs.payments?.env.STRIPE_API_URL,
  stripeSecretKey: started.subgraphs.payments?.env.STRIPE_SECRET_KEY,
  publicKeyPem: started.keys.publicKeyPem,
  privateKeyPem: started.keys.privateKeyPem,
  pid: process.pid,
  statementsUrls: [await serveStatementCounts(started.subgraphs)],
};
process.stdout.write(`${JSON.stringify({ ready })}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await started.stop().catch((error: unknown) => console.error(error));
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
