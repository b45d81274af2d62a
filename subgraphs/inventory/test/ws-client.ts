import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// graphql-ws and ws are dependencies of @shop/kit (its server speaks graphql-ws), not of this package: the
// test borrows them from there rather than adding dependencies to the workspace.
const require = createRequire(fileURLToPath(new URL('../../../packages/kit/package.json', import.meta.url)));
const { createClient } = require('graphql-ws') as {
  createClient: (options: Record<string, unknown>) => WsClient;
};
const WebSocket = require('ws') as unknown;

interface WsClient {
  subscribe: (
    payload: { query: string; variables?: Record<string, unknown> },
    sink: { next: (value: unknown) => void; error: (error: unknown) => void; complete: () => void },
  ) => () => void;
  dispose: () => Promise<void> | void;
}

/** One subscription over graphql-ws: the values received so far, and how it ended. */
export interface Subscribed {
  values: { data?: Record<string, unknown>; errors?: unknown[] }[];
  ended: Promise<unknown>;
  close: () => Promise<void>;
}

export function subscribe(
  wsUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Subscribed {
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
  });
  const values: Subscribed['values'] = [];
  const ended = new Promise<unknown>((resolve) => {
    client.subscribe(
      { query, variables },
      {
        next: (value) => values.push(value as Subscribed['values'][number]),
        error: (error) => resolve(error),
        complete: () => resolve('complete'),
      },
    );
  });
  return { values, ended, close: async () => void (await client.dispose()) };
}
