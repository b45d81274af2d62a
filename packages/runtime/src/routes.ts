import type { IncomingHttpHeaders } from 'node:http';
import { AppError, type Logger } from '@shop/kit';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';

export interface RouteRequest {
  /** Parsed JSON, or the exact bytes with `body: 'raw'` (signature checks need them untouched). */
  body: unknown;
  headers: IncomingHttpHeaders;
  params: Record<string, string>;
  query: Record<string, unknown>;
  logger: Logger;
}

export interface RouteResponse {
  status?: number;
  body?: unknown;
}

/** An HTTP endpoint besides /graphql, such as the payments webhook. */
export interface HttpRoute {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  /** 'json' (default) parses a JSON body; 'raw' hands the handler a Buffer. */
  body?: 'json' | 'raw';
  /** Largest body accepted (default 1mb). */
  limit?: string;
  handler: (request: RouteRequest) => Promise<RouteResponse | undefined>;
}

const statusOf: Record<AppError['code'], number> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
};

/** `{ error: { code, message } }`: what every route answers on failure, never an HTML page or a stack. */
function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

/**
 * Mounts routes with coded JSON errors: an AppError keeps its code and status, a body the parser refuses is
 * 400/413/415 with a code, anything else is logged and answered as a masked 500.
 */
export function mountRoutes(app: Express, routes: readonly HttpRoute[], logger: Logger): void {
  for (const route of routes) {
    const parse: RequestHandler =
      route.body === 'raw'
        ? express.raw({ type: () => true, limit: route.limit ?? '1mb' })
        : express.json({ limit: route.limit ?? '1mb' });
    const handle: RequestHandler = async (req, res) => {
      const routeLogger = logger.child({ route: `${route.method.toUpperCase()} ${route.path}` });
      try {
        const result = await route.handler({
          body: req.body,
          headers: req.headers,
          params: req.params as Record<string, string>,
          query: req.query as Record<string, unknown>,
          logger: routeLogger,
        });
        res.status(result?.status ?? 200).json(result?.body ?? { ok: true });
      } catch (error) {
        if (error instanceof AppError) {
          res.status(statusOf[error.code]).json(errorBody(error.code, error.message));
          return;
        }
        routeLogger.error({ err: error }, 'route failed');
        res.status(500).json(errorBody('INTERNAL_SERVER_ERROR', 'Internal server error'));
      }
    };
    const refuseBadBody: ErrorRequestHandler = (error, _req, res, next) => {
      const status = (error as { status?: number }).status;
      if (status === undefined || status < 400 || status >= 500) return next(error);
      const code =
        status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST';
      res.status(status).json(errorBody(code, 'The request body could not be read'));
    };
    app[route.method](route.path, parse, handle, refuseBadBody);
  }
}
