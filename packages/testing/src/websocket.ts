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

/** One subscription over graphql-ws: the values received so far (shaped as the caller says), and how it ended. */
export interface Subscribed<R = { data?: Record<string, unknown> | null; errors?: unknown[] }> {
  values: R[];
  /** The error that ended it, once it has (a close event or GraphQL errors); empty while it runs or completed. */
  errors: unknown[];
  /** 'complete', or the error (close event or GraphQL errors) that ended it. */
  ended: Promise<unknown>;
  close: () => Promise<void>;
}

/** Subscribes over graphql-ws on its own socket; read `values` as they arrive (with waitFor). */
export function subscribeOverWs<R = Subscribed['values'][number]>(
  wsUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Subscribed<R> {
  const client = createWsTestClient(wsUrl, token);
  const values: R[] = [];
  const errors: unknown[] = [];
  const ended = new Promise<unknown>((resolve) => {
    client.subscribe(
      { query, variables },
      {
        next: (value) => values.push(value as R),
        error: (error) => {
          errors.push(error);
          resolve(error);
        },
        complete: () => resolve('complete'),
      },
    );
  });
  return { values, errors, ended, close: async () => void (await client.dispose()) };
}
