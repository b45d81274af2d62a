import { createGraphQLWsClient, WebSocket } from '@shop/kit';

/** One subscription over graphql-ws: the values received so far, and how it ended. */
export interface Subscribed {
  values: { data?: Record<string, unknown> | null; errors?: unknown[] }[];
  ended: Promise<unknown>;
  close: () => Promise<void>;
}

/** Subscribes over graphql-ws (the kit's client), with the token in connectionParams as browsers send it. */
export function subscribe(
  wsUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Subscribed {
  const client = createGraphQLWsClient({
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
