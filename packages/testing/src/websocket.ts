import { createGraphQLWsClient, type GraphQLWsClient, WebSocket } from '@shop/kit';

/** A graphql-ws client over `ws`, with the token in connectionParams as browsers and the gateway send it. */
export function createWsTestClient(wsUrl: string, token?: string): GraphQLWsClient {
  return createGraphQLWsClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
  });
}

/** One subscription over graphql-ws: the values received so far, and how it ended. */
export interface Subscribed {
  values: { data?: Record<string, unknown> | null; errors?: unknown[] }[];
  /** 'complete', or the error (close event or GraphQL errors) that ended it. */
  ended: Promise<unknown>;
  close: () => Promise<void>;
}

/** Subscribes over graphql-ws on its own socket; read `values` as they arrive (with waitFor). */
export function subscribeOverWs(
  wsUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Subscribed {
  const client = createWsTestClient(wsUrl, token);
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
