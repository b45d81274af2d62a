import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { type ApolloServer, type BaseContext, HeaderMap } from '@apollo/server';
import {
  AppError,
  clientErrorOf,
  errorBody,
  type Logger,
  MAX_BODY_BYTES,
  queryTooLarge,
  requestScope,
  serveInSpan,
  strictUtf8Text,
  toGraphQLError,
} from '@shop/kit';
import type { Request, Response } from 'express';
import type { KnownOperations } from './known-operations';

/**
 * Whether a request can skip express: a server-to-server `POST /graphql` with an uncompressed UTF-8 JSON body of
 * a declared size within the limit and no `Origin` (no CORS to answer). Everything else (browsers, GET and the
 * Sandbox, health routes, preflights, odd bodies) goes through the express app, whose answers it keeps.
 */
function takesFastPath(req: IncomingMessage): boolean {
  if (req.method !== 'POST' || req.url !== '/graphql' || req.headers.origin !== undefined) return false;
  const type = req.headers['content-type']?.toLowerCase();
  if (type !== 'application/json' && type !== 'application/json; charset=utf-8') return false;
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
  const length = Number(req.headers['content-length']);
  return Number.isInteger(length) && length > 0 && length <= MAX_BODY_BYTES;
}

function readBody(req: IncomingMessage, length: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      chunks.push(chunk);
    });
    req.on('end', () => resolve(received === length ? Buffer.concat(chunks, received) : undefined));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * The gateway's hot path without express: the same checks and answers as `mountGraphQL` (request id in scope
 * and echoed, JSON body refused with the same coded errors, the context built the same way, a coded context
 * error as a GraphQL error with its status), then Apollo's `executeHTTPGraphQLRequest` directly. In the
 * profile express, its router, body-parser, cors, negotiator and etag were ~9 % of the gateway's CPU.
 */
export function graphqlFastPath<TContext extends BaseContext>(options: {
  apollo: ApolloServer<TContext>;
  context: (req: IncomingMessage) => Promise<TContext>;
  logger: Logger;
  /** A longer query text is refused (QUERY_TOO_LARGE, 400) before Apollo parses it, as by mountGraphQL. */
  maxQueryBytes?: number | undefined;
  /** Where every other request goes (the express app). */
  fallback: RequestListener;
  /** Names the service on each request's span (serveInSpan, as mountGraphQL's). */
  service: string;
  /** Answers operations Apollo has already served without its pipeline (undefined: Apollo answers all). */
  knownOperations?: KnownOperations<TContext> | undefined;
}): RequestListener {
  const { apollo, logger, fallback, maxQueryBytes, service, knownOperations } = options;
  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const bytes = await readBody(req, Number(req.headers['content-length']));
    if (bytes === undefined) {
      const refusal = clientErrorOf({ type: 'request.size.invalid' });
      if (refusal) sendJson(res, refusal.status, JSON.stringify(errorBody(refusal.code, refusal.message)));
      return;
    }
    // As jsonBody: a byte order mark or bytes that are not UTF-8 are refused, never decoded to U+FFFD.
    const text = strictUtf8Text(bytes);
    if (text === undefined) {
      const refusal = clientErrorOf({ type: 'entity.verify.failed' });
      if (refusal) sendJson(res, refusal.status, JSON.stringify(errorBody(refusal.code, refusal.message)));
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    // As express.json({ strict: true }): only objects and arrays are bodies.
    if (typeof body !== 'object' || body === null) {
      const refusal = clientErrorOf({ type: 'entity.parse.failed', body: text });
      if (refusal) sendJson(res, refusal.status, JSON.stringify(errorBody(refusal.code, refusal.message)));
      return;
    }
    const tooLarge =
      maxQueryBytes === undefined
        ? undefined
        : queryTooLarge((body as { query?: unknown }).query, { maxBytes: maxQueryBytes });
    if (tooLarge) {
      const { http: _status, ...extensions } = tooLarge.extensions;
      sendJson(res, 400, JSON.stringify({ errors: [{ message: tooLarge.message, extensions }] }));
      return;
    }
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const context = async () => {
      try {
        return await options.context(req);
      } catch (error) {
        throw error instanceof AppError ? toGraphQLError(error) : error;
      }
    };
    const response =
      (await knownOperations?.serve(apollo, body, headers, context)) ??
      (await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: 'POST', headers, search: '', body },
        context,
      }));
    for (const [name, value] of response.headers) res.setHeader(name, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      res.setHeader('content-length', Buffer.byteLength(response.body.string));
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  };
  return (req, res) => {
    if (!takesFastPath(req)) {
      fallback(req, res);
      return;
    }
    // The kit's request id (the caller's valid x-request-id, or a new one; echoed) and its scope, as every
    // express route has them; requestScope reads only `get` of the request and `locals`/`setHeader` of the response.
    const expressLike = { get: (name: string) => req.headers[name.toLowerCase()] as string | undefined };
    const responseLike = Object.assign(res, { locals: {} as Record<string, unknown> });
    requestScope(expressLike as unknown as Request, responseLike as unknown as Response, () =>
      serveInSpan(service, req, res, () => {
        serve(req, res).catch((error: unknown) => {
          logger.error({ err: error, requestId: responseLike.locals.requestId }, 'unexpected error');
          if (!res.headersSent) {
            sendJson(res, 500, JSON.stringify(errorBody('INTERNAL_SERVER_ERROR', 'Internal server error')));
          } else {
            res.destroy();
          }
        });
      }),
    );
  };
}
