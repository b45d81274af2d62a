import { GraphQLError } from 'graphql';

/**
 * Every `extensions.code` a client of the gateway or of a subgraph can receive, and the HTTP status of a
 * response whose whole request was refused with it. Errors are always JSON in the GraphQL shape
 * `{ "errors": [{ "message", "extensions": { "code" } }] }` and never carry a stack trace, a file path, SQL or an
 * internal address; every response has an `x-request-id` header, and our logs carry the same id.
 *
 * | code                         | status | when                                                                          |
 * | ---------------------------- | ------ | ----------------------------------------------------------------------------- |
 * | BAD_REQUEST                  | 400    | not a GraphQL request: malformed JSON, a body that is not a JSON object       |
 * |                              |        | (`null`, `123`), a subscription sent over HTTP (use graphql-ws), a bad method |
 * | PAYLOAD_TOO_LARGE            | 413    | a body over 1 MB                                                              |
 * | UNSUPPORTED_MEDIA_TYPE       | 415    | a charset other than UTF-8, any Content-Encoding (send bodies uncompressed)   |
 * | NOT_FOUND                    | 404    | a route nobody serves; (200) a record that does not exist                     |
 * | GRAPHQL_PARSE_FAILED         | 400    | the query is not GraphQL                                                      |
 * | GRAPHQL_VALIDATION_FAILED    | 400    | the query does not fit the schema, or asks for an operation type it lacks     |
 * | OPERATION_RESOLUTION_FAILURE | 400    | `operationName` names no operation, or several operations and no name         |
 * | QUERY_TOO_LARGE              | 400    | the query text is over the limit (32 KB by default; see cost-limit.ts)        |
 * | QUERY_TOO_COMPLEX            | 400    | the operation's cost (list sizes × selections) is over the limit              |
 * | TOO_MANY_ALIASES             | 400    | more aliased fields than the limit (fragments expanded)                       |
 * | TOO_MANY_ROOT_FIELDS         | 400    | more root fields in one operation than the limit                              |
 * | BAD_USER_INPUT               | 400    | a value the client sent is refused: a scalar (Decimal, DateTime), a NUL       |
 * |                              |        | character in any string, a cursor, a malformed `_entities` representation,    |
 * |                              |        | a query nested too deep; (200) a field's input refused by its service          |
 * | UNAUTHENTICATED              | 401    | a missing, malformed, forged or expired token                                 |
 * | FORBIDDEN                    | 403    | the caller may not do this                                                    |
 * | CONFLICT                     | 409    | the change conflicts with existing data (a taken email or SKU)                |
 * | RATE_LIMITED                 | 429    | too many attempts (sign-in failures, registrations, requests of one client):  |
 * |                              |        | `extensions.retryAfterSeconds` says when to retry (rate-limit.ts)             |
 * | SERVICE_UNAVAILABLE          | 503    | sign-in, registration, refresh and changePassword while the rate limiter's    |
 * |                              |        | Redis does not answer: refused (fail closed) rather than unthrottled; (200)   |
 * |                              |        | a field needing a subgraph that does not answer (DependencyUnavailable: the   |
 * |                              |        | catalogue for placeOrder and createInventory, the cart for checkout); retry   |
 * | REQUEST_TIMEOUT              | (200)  | a field still unresolved at the subgraph's request deadline (partial data)    |
 * | INTERNAL_SERVER_ERROR        | 500    | our failure: masked as "Internal server error", the details are in the log    |
 *
 * Errors raised while a field resolves (a service's AppError) keep the response's 200, with `data` for the
 * fields that did resolve; the statuses above apply when nothing was executed.
 */
export type ClientErrorCode =
  | ErrorCode
  | 'BAD_REQUEST'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'GRAPHQL_PARSE_FAILED'
  | 'GRAPHQL_VALIDATION_FAILED'
  | 'OPERATION_RESOLUTION_FAILURE'
  | 'QUERY_TOO_LARGE'
  | 'QUERY_TOO_COMPLEX'
  | 'TOO_MANY_ALIASES'
  | 'TOO_MANY_ROOT_FIELDS'
  | 'REQUEST_TIMEOUT'
  | 'PERSISTED_QUERY_NOT_FOUND'
  | 'PERSISTED_QUERY_NOT_SUPPORTED';

/** The codes of errors answered by the HTTP layer (outside GraphQL): the client's, or our masked failure. */
export type HttpErrorCode =
  | 'BAD_REQUEST'
  | 'NOT_FOUND'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'INTERNAL_SERVER_ERROR';

/**
 * Codes a service answers on purpose about the request it was sent: the caller's input, rights and limits. A
 * gateway passes these on from a subgraph (anything else from upstream is its own failure, masked).
 */
const refusalCodeList: readonly ClientErrorCode[] = [
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
  'REQUEST_TIMEOUT',
  'QUERY_TOO_LARGE',
  'QUERY_TOO_COMPLEX',
  'TOO_MANY_ALIASES',
  'TOO_MANY_ROOT_FIELDS',
];
export const refusalCodes: ReadonlySet<string> = new Set(refusalCodeList);

/** Codes a client may act on: errors with any other code are our failures, masked before they leave. */
export const clientErrorCodes: ReadonlySet<string> = new Set<ClientErrorCode>([
  'BAD_REQUEST',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  ...refusalCodeList,
]);

/** The codes services throw (AppError). */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'SERVICE_UNAVAILABLE';

const httpStatus: Record<ErrorCode, number> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
};

/**
 * An expected failure with a code a client can branch on. Services throw these (they know nothing of
 * GraphQL); the subgraph server turns them into GraphQL errors with `extensions.code`.
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badUserInput = (message: string, details?: Record<string, unknown>) =>
  new AppError('BAD_USER_INPUT', message, details);
export const unauthenticated = (message = 'You must be signed in') =>
  new AppError('UNAUTHENTICATED', message);
export const forbidden = (message = 'You are not allowed to do this') => new AppError('FORBIDDEN', message);
export const notFound = (what: string, id: string) =>
  new AppError('NOT_FOUND', `${what} ${id} not found`, { id });
export const conflict = (message: string, details?: Record<string, unknown>) =>
  new AppError('CONFLICT', message, details);

/**
 * Another service this one needs for the request (a subgraph it calls) did not answer, answered too late or
 * answered garbage. Neither the client's fault nor a bug here: the client is told SERVICE_UNAVAILABLE (retry
 * shortly) without the details, which are logged (formatError). Subclasses name the dependency.
 */
export class DependencyUnavailable extends Error {
  constructor(
    readonly dependency: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${dependency} is unavailable: ${reason}`, options);
    this.name = 'DependencyUnavailable';
  }
}

/** What a client is told about a DependencyUnavailable: which part of the shop, never where or why. */
export function dependencyUnavailableError(error: DependencyUnavailable): AppError {
  return new AppError(
    'SERVICE_UNAVAILABLE',
    `The ${error.dependency} service is not answering; try again shortly`,
  );
}

/**
 * A client's mistake found before execution (by a plugin, a scalar, a guard): the whole request is refused
 * with this code and its HTTP status.
 */
export function requestError(
  code: ClientErrorCode,
  message: string,
  options: { status?: number; extensions?: Record<string, unknown> } = {},
): GraphQLError {
  return new GraphQLError(message, {
    extensions: { ...options.extensions, code, http: { status: options.status ?? 400 } },
  });
}

/** The GraphQL shape of an AppError: message, `extensions.code`, details, and the HTTP status hint. */
export function toGraphQLError(error: AppError): GraphQLError {
  return new GraphQLError(error.message, {
    extensions: { code: error.code, ...error.details, http: { status: httpStatus[error.code] } },
  });
}
