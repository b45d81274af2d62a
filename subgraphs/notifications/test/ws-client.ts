import { createRequire } from 'node:module';

// graphql-ws and ws are not dependencies of this package (nothing but this test needs them, and the working
// tree may not run `pnpm install`); they are borrowed from @shop/kit, which has both. Wanted change: add
// `graphql-ws` and `ws` to this package's devDependencies and import them directly.
const requireFromKit = createRequire(new URL('../../../packages/kit/package.json', import.meta.url));

interface Sink<T> {
  next: (value: { data?: T | null; errors?: readonly unknown[] }) => void;
  error: (error: unknown) => void;
  complete: () => void;
}

export interface WsClient {
  subscribe: <T>(
    payload: { query: string; variables?: Record<string, unknown> },
    sink: Sink<T>,
  ) => () => void;
  dispose: () => Promise<void> | void;
}

const { createClient } = requireFromKit('graphql-ws') as {
  createClient: (options: Record<string, unknown>) => WsClient;
};
const WebSocket = requireFromKit('ws') as unknown;

/** A graphql-ws client over `ws`, with the token in connectionParams (as the gateway sends it). */
export function createWsClient(url: string, token?: string): WsClient {
  return createClient({
    url,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
  });
}
