// Child process of the bench: Hive Gateway's programmatic runtime (createGatewayRuntime) on node:http, over the
// same supergraph file, forwarding the caller's Authorization header. In-flight de-duplication is OFF both ways
// (inbound: its default; outbound to subgraphs: `deduplicateInflightRequests: false`, whose default is on), so
// it does the same subgraph work per request as the other gateways. Env: SUPERGRAPH_PATH, PORT.
import { createServer } from 'node:http';
import { createGatewayRuntime } from '@graphql-hive/gateway';

const runtime = createGatewayRuntime({
  supergraph: process.env.SUPERGRAPH_PATH as string,
  logging: 'error',
  landingPage: false,
  graphiql: false,
  inboundInflightRequestDeduplication: false,
  transportEntries: { '*.http': { options: { deduplicateInflightRequests: false } } },
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) => ({ authorization: request.headers.get('authorization') }),
  },
});
const server = createServer(runtime);
await new Promise<void>((resolve) => server.listen(Number(process.env.PORT), '127.0.0.1', resolve));
process.stdout.write(
  `${JSON.stringify({ ready: { url: `http://127.0.0.1:${process.env.PORT}/graphql` } })}\n`,
);
process.on('SIGTERM', () => {
  server.close();
  void Promise.resolve(runtime.dispose()).then(() => process.exit(0));
});
