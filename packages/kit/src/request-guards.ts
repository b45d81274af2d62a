import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { BREAK, type DocumentNode, type GraphQLError, visit } from 'graphql';
import { requestError } from './errors';

const NUL = '\u0000';
const hasNul = (text: string) => text.includes(NUL);
// Half of a UTF-16 surrogate pair: not Unicode, so it cannot be stored as UTF-8 (it would turn into U+FFFD).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const hasLoneSurrogate = (text: string) => LONE_SURROGATE.test(text);

/**
 * The first place in a JSON value where a string (or an object key) passes `test`, as a path. Walks without
 * recursion and keeps each node's parent rather than a copy of its path: a client can nest a variable 100,000
 * levels deep, which would overflow the call stack, and copying paths would take quadratic time.
 */
function findText(value: unknown, test: (text: string) => boolean): (string | number)[] | undefined {
  interface Step {
    node: unknown;
    key: string | number;
    parent: Step | undefined;
  }
  const pathOf = (step: Step | undefined, last?: string): (string | number)[] => {
    const path: (string | number)[] = last === undefined ? [] : [last];
    for (let at = step; at?.parent; at = at.parent) path.push(at.key);
    return path.reverse();
  };
  const pending: Step[] = [{ node: value, key: '', parent: undefined }];
  for (let step = pending.pop(); step; step = pending.pop()) {
    const { node } = step;
    if (typeof node === 'string') {
      if (test(node)) return pathOf(step);
    } else if (Array.isArray(node)) {
      for (let index = node.length - 1; index >= 0; index--) {
        pending.push({ node: node[index], key: index, parent: step });
      }
    } else if (typeof node === 'object' && node !== null) {
      const entries = Object.entries(node);
      for (const [key] of entries) if (test(key)) return pathOf(step, key);
      for (let index = entries.length - 1; index >= 0; index--) {
        const [key, item] = entries[index] as [string, unknown];
        pending.push({ node: item, key, parent: step });
      }
    }
  }
  return undefined;
}

/** The first place in a JSON value where a string (or an object key) holds a NUL character, as a path. */
export function findNul(value: unknown): (string | number)[] | undefined {
  return findText(value, hasNul);
}

// Which tests a document's string literals pass, per document and test: a server hands the same DocumentNode for
// the same query text (Apollo's document store), so a repeated operation is scanned once, not per request.
const scanned = new WeakMap<DocumentNode, Map<(text: string) => boolean, boolean>>();

function documentHas(document: DocumentNode, test: (text: string) => boolean): boolean {
  let results = scanned.get(document);
  if (!results) {
    results = new Map();
    scanned.set(document, results);
  }
  let found = results.get(test);
  if (found === undefined) {
    found = scanDocument(document, test);
    results.set(test, found);
  }
  return found;
}

function scanDocument(document: DocumentNode, test: (text: string) => boolean): boolean {
  let found = false;
  visit(document, {
    StringValue(node) {
      if (test(node.value)) {
        found = true;
        return BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/** Whether a string literal anywhere in the document (arguments, defaults, directives) holds a NUL. */
export function documentHasNul(document: DocumentNode): boolean {
  return documentHas(document, hasNul);
}

/**
 * The BAD_USER_INPUT error (400) for an operation with a NUL character or a lone surrogate in a variable or a
 * string literal, or undefined when it has none. Postgres cannot store NUL in text and fails the whole statement
 * with it; a lone surrogate would be stored as U+FFFD, not as what the client sent.
 */
export function nulRefusal(
  document: DocumentNode,
  variables: Record<string, unknown> | null | undefined,
): GraphQLError | undefined {
  for (const [test, message] of [
    [hasNul, 'Text must not contain the NUL character (\\u0000)'],
    [hasLoneSurrogate, 'Text must be valid Unicode: it holds half of a surrogate pair (\\uD800-\\uDFFF)'],
  ] as const) {
    const inVariables = findText(variables ?? {}, test);
    if (inVariables) {
      const variable = inVariables.map((key) => JSON.stringify(String(key)).slice(1, -1)).join('.');
      return requestError('BAD_USER_INPUT', message, { extensions: { variable } });
    }
    if (documentHas(document, test)) return requestError('BAD_USER_INPUT', message);
  }
  return undefined;
}

/**
 * Refuses, before anything executes, what a client can send but no resolver should see:
 * - an `operationName` naming no operation, or several operations without one (OPERATION_RESOLUTION_FAILURE, 400;
 *   the gateway would otherwise fail while planning, as a 500);
 * - an operation type the schema lacks (GRAPHQL_VALIDATION_FAILED, 400), and a subscription over HTTP
 *   (BAD_REQUEST, 400: subscriptions are served by graphql-ws on the same path);
 * - the NUL character or a lone surrogate in any variable or string literal (BAD_USER_INPUT, 400): Postgres
 *   cannot store NUL in text and fails the whole statement, so it never reaches a service.
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
