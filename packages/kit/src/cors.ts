import cors from 'cors';
import type { RequestHandler } from 'express';

/**
 * Browsers (Apollo Sandbox embedded from Apollo's CDN, web shops) call /graphql from other origins. Auth is a
 * bearer token, never a cookie, so allowing an origin grants it nothing a token does not already grant.
 * `*` allows any origin (development); production lists its shop front-ends.
 */
export function corsFor(origins: readonly string[]): RequestHandler {
  return cors({
    origin: origins.includes('*') ? true : [...origins],
    allowedHeaders: ['content-type', 'authorization', 'apollo-require-preflight', 'x-apollo-operation-name'],
    maxAge: 600,
  });
}
