// Child process of the bench: every registered subgraph, launched as the e2e tests launch them (own fresh
// databases, shared test keys, Kafka and Redis prefixes, demo seed), until SIGTERM. Prints one JSON line
// `{"ready": {...}}` on stdout with their URLs and the key pair.
import { startTestSubgraphs } from '@shop/testing';

const started = await startTestSubgraphs({ seed: true });
const ready = {
  urls: Object.fromEntries(Object.entries(started.subgraphs).map(([name, subgraph]) => [name, subgraph.url])),
  publicKeyPem: started.keys.publicKeyPem,
  privateKeyPem: started.keys.privateKeyPem,
  pid: process.pid,
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
