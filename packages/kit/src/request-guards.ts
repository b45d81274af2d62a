import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { BREAK, type DocumentNode, type GraphQLError, visit } from 'graphql';
import { requestError } from './errors';

const NUL = '\u0000';

/** The first place in a JSON value where a string (or an object key) holds a NUL character, as a path. */
export function findNul(value: unknown, path: (string | number)[] = []): (string | number)[] | undefined {
  if (typeof value === 'string') return value.includes(NUL) ? path : undefined;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findNul(item, [...path, index]);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (key.includes(NUL)) return [...path, key];
      const found = findNul(item, [...path, key]);
      if (found) return found;
    }
  }
  return undefined;
}

/** Whether a string literal anywhere in the document (arguments, defaults, directives) holds a NUL. */
export function documentHasNul(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    StringValue(node) {
      if (node.value.includes(NUL)) {
        found = true;
        return BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/**
 * The BAD_USER_INPUT error (400) for an operation with a NUL character in a variable or a string literal, or
 * undefined when it has none. Postgres cannot store NUL in text and fails the whole statement with it.
 */
export function nulRefusal(
  document: DocumentNode,
  variables: Record<string, unknown> | null | undefined,
): GraphQLError | undefined {
  const message = 'Text must not contain the NUL character (\\u0000)';
  const inVariables = findNul(variables ?? {});
  if (inVariables) {
    const variable = inVariables.map((key) => String(key).replaceAll(NUL, '\\u0000')).join('.');
    return requestError('BAD_USER_INPUT', message, { extensions: { variable } });
  }
  return documentHasNul(document) ? requestError('BAD_USER_INPUT', message) : undefined;
}

/**
 * Refuses, before anything executes, what a client can send but no resolver should see:
 * - an `operationName` naming no operation, or several operations without one (OPERATION_RESOLUTION_FAILURE, 400;
 *   the gateway would otherwise fail while planning, as a 500);
 * - an operation type the schema lacks (GRAPHQL_VALIDATION_FAILED, 400), and a subscription over HTTP
 *   (BAD_REQUEST, 400: subscriptions are served by graphql-ws on the same path);
 * - the NUL character in any variable or string literal (BAD_USER_INPUT, 400): Postgres cannot store it in
 *   text and fails the whole statement, so it never reaches a service.
 * Installed on every subgraph and on the gateway.
 */
export function requestGuardsPlugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, operation, schema }) {
          if (!operation) {
            throw requestError(
              'OPERATION_RESOLUTION_FAILURE',
              request.operationName
                ? `Unknown operation named "${request.operationName}"`
                : 'Must provide operationName when the query contains several operations',
            );
          }
          if (!schema.getRootType(operation.operation)) {
            throw requestError(
              'GRAPHQL_VALIDATION_FAILED',
              `This schema has no ${operation.operation} operations`,
            );
          }
          if (operation.operation === 'subscription' && request.http) {
            throw requestError(
              'BAD_REQUEST',
              'Subscriptions are not served over HTTP: subscribe over WebSocket (graphql-ws) on /graphql',
            );
          }
          const nul = nulRefusal(document, request.variables);
          if (nul) throw nul;
        },
      };
    },
  };
}
