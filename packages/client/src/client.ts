import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type GraphQLFormattedError, print } from 'graphql';

export interface ShopResult<R> {
  status: number;
  data: R | null | undefined;
  errors: readonly GraphQLFormattedError[] | undefined;
}

/** Thrown by `ShopClient.data` when the operation answered with errors. */
export class ShopClientError extends Error {
  constructor(readonly errors: readonly GraphQLFormattedError[]) {
    super(errors.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('; '));
    this.name = 'ShopClientError';
  }

  get codes(): unknown[] {
    return this.errors.map((e) => e.extensions?.code);
  }
}

type VariablesArg<V> = Record<string, never> extends V ? [variables?: V] : [variables: V];

/**
 * A small typed client for the supergraph: operations are the TypedDocumentNodes generated from
 * schema/operations/*.graphql, so results and variables are checked at compile time.
 */
export class ShopClient {
  constructor(
    readonly url: string,
    readonly token?: string,
  ) {}

  /** The same client acting as another user. */
  as(token: string | undefined): ShopClient {
    return new ShopClient(this.url, token);
  }

  async request<R, V>(
    document: TypedDocumentNode<R, V>,
    ...[variables]: VariablesArg<V>
  ): Promise<ShopResult<R>> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
      },
      body: JSON.stringify({ query: print(document), variables: variables ?? {} }),
    });
    const body = (await response.json()) as { data?: R | null; errors?: GraphQLFormattedError[] };
    return { status: response.status, data: body.data, errors: body.errors };
  }

  /** The operation's data; throws ShopClientError when it answered with errors. */
  async data<R, V>(document: TypedDocumentNode<R, V>, ...variables: VariablesArg<V>): Promise<R> {
    const result = await this.request(document, ...variables);
    if (result.errors?.length) throw new ShopClientError(result.errors);
    if (result.data === null || result.data === undefined) throw new Error(`no data (HTTP ${result.status})`);
    return result.data;
  }
}
