import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express, type RequestHandler, type Response } from 'express';
import type { HttpErrorCode } from './errors';
import type { Logger } from './logging';

/** Every response carries the id its log lines carry; a caller may choose it (a proxy's id, a test's). */
export const REQUEST_ID_HEADER = 'x-request-id';

/** The largest JSON body a client may send. */
export const MAX_BODY_BYTES = 1024 * 1024;

// Accepted from a caller only when it cannot break a log line or a header.
const CALLER_REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

const scope = new AsyncLocalStorage<{ requestId: string }>();

/** The id of the request being served, where code has no request at hand (error formatting, data sources). */
export function currentRequestId(): string | undefined {
  return scope.getStore()?.requestId;
}

/** The request's id: the one already given to this response, the caller's `x-request-id`, or a new uuid. */
export function requestIdOf(req: { get(name: string): string | undefined }, res: Response): string {
  const known = res.locals.requestId;
  if (typeof known === 'string') return known;
  const asked = req.get(REQUEST_ID_HEADER);
  const id = asked !== undefined && CALLER_REQUEST_ID.test(asked) ? asked : randomUUID();
  res.locals.requestId = id;
  if (!res.headersSent) res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

/** Gives every request its id (echoed in `x-request-id`) before any route runs. */
export const requestIds: RequestHandler = (req, res, next) => {
  requestIdOf(req, res);
  next();
};

/** Runs the rest of the chain with the request id in scope (see currentRequestId). */
export const requestScope: RequestHandler = (req, res, next) => {
  scope.run({ requestId: requestIdOf(req, res) }, next);
};

/** An express app as every server of ours starts: no framework banner, a request id on every response. */
export function createApp(): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestIds);
  return app;
}

/**
 * The body of every error answered outside GraphQL execution, in the GraphQL response shape so a client has
 * one way to read errors.
 */
export function errorBody(code: HttpErrorCode, message: string) {
  return { errors: [{ message, extensions: { code } }] };
}

function sendError(res: Response, status: number, code: HttpErrorCode, message: string): void {
  res
    .status(status)
    .type('application/json')
    .send(JSON.stringify(errorBody(code, message)));
}

/**
 * JSON bodies only: UTF-8, uncompressed (a compressed body would be inflated past the limit's intent and costs
 * CPU before anything is checked), at most MAX_BODY_BYTES. Anything else is refused with a coded JSON error by
 * clientErrors. Bodies that are not JSON objects or arrays (`null`, `123`, `"x"`) are refused as malformed.
 */
export function jsonBody(): RequestHandler {
  return express.json({
    limit: MAX_BODY_BYTES,
    inflate: false,
    strict: true,
    // body-parser would drop a byte order mark and turn bytes that are not UTF-8 into U+FFFD, so a mutation
    // would store text the client never sent: refuse both (entity.verify.failed, answered by clientErrorOf).
    verify: (_req, _res, buffer) => {
      if (strictUtf8Text(buffer) === undefined) throw new Error('not UTF-8 without a byte order mark');
    },
  });
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A JSON body's text, or undefined when it starts with a byte order mark or holds bytes that are not UTF-8
 * (answer `clientErrorOf({ type: 'entity.verify.failed' })`). Shared by jsonBody and the gateway's fast path.
 */
export function strictUtf8Text(buffer: Uint8Array): string | undefined {
  if (buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf) return undefined;
  try {
    return strictUtf8.decode(buffer);
  } catch {
    return undefined;
  }
}

interface BodyParserError {
  type?: unknown;
  status?: unknown;
  body?: unknown;
}

function isValidJson(text: unknown): boolean {
  if (typeof text !== 'string') return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** What a client did wrong, as status, code and message; undefined when the error is not the client's. */
export function clientErrorOf(
  error: unknown,
): { status: number; code: HttpErrorCode; message: string } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { type, status, body } = error as BodyParserError;
  switch (type) {
    case 'entity.parse.failed':
      return isValidJson(body)
        ? {
            status: 400,
            code: 'BAD_REQUEST',
            message: 'The request body must be a JSON object such as {"query": "{ __typename }"}',
          }
        : { status: 400, code: 'BAD_REQUEST', message: 'The request body is not valid JSON' };
    case 'entity.verify.failed':
      return {
        status: 400,
        code: 'BAD_REQUEST',
        message: 'The request body must be UTF-8 without a byte order mark',
      };
    case 'entity.too.large':
      return {
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
        message: `The request body is larger than ${MAX_BODY_BYTES / 1024 / 1024} MB`,
      };
    case 'charset.unsupported':
      return { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'The request body must be UTF-8 JSON' };
    case 'encoding.unsupported':
      return {
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: 'Content-Encoding is not supported: send the body uncompressed',
      };
    case 'request.size.invalid':
      return {
        status: 400,
        code: 'BAD_REQUEST',
        message: 'The request body does not match its Content-Length',
      };
    default:
      // Other errors express or body-parser raise for a request (an undecodable URL, an aborted body) carry a
      // 4xx status; their messages are not written for clients, so they get a plain one.
      if (typeof status === 'number' && status >= 400 && status < 500) {
        return {
          status,
          code: status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST',
          message: status === 404 ? 'Not found' : 'Bad request',
        };
      }
      return undefined;
  }
}

/**
 * Answers every error that reaches express with a coded JSON body: the client's mistakes with their 4xx status,
 * anything else with 500 "Internal server error" (the full error goes to the log with the request id). Express's
 * own handler, which writes an HTML page with the stack, never runs.
 */
export function jsonErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    try {
      const requestId = requestIdOf(req, res);
      const known = clientErrorOf(error);
      if (known) {
        logger.debug({ err: error, requestId, status: known.status }, 'request refused');
      } else {
        logger.error({ err: error, requestId, method: req.method, path: req.path }, 'unexpected error');
      }
      if (res.headersSent) {
        // Half a response is out: cut the connection rather than let it look complete.
        req.socket.destroy();
        return;
      }
      if (known) sendError(res, known.status, known.code, known.message);
      else sendError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
    } catch (failure) {
      logger.error({ err: failure }, 'error handler failed');
      if (!res.headersSent)
        res
          .status(500)
          .type('application/json')
          .end(JSON.stringify(errorBody('INTERNAL_SERVER_ERROR', 'Internal server error')));
      else req.socket.destroy();
    }
  };
}

/**
 * Installs the last handlers of an app: 404 for routes nobody serves, then jsonErrorHandler. Call it after
 * every route is mounted.
 */
export function mountErrorHandlers(app: Express, logger: Logger): void {
  app.use((_req, res) => {
    sendError(res, 404, 'NOT_FOUND', 'Not found: GraphQL is served on /graphql');
  });
  app.use(jsonErrorHandler(logger));
}
