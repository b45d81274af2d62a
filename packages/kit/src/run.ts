import { readFileSync } from 'node:fs';
import { gql } from 'graphql-tag';
import { TokenVerifier } from './auth';
import type { baseEnvSchema } from './config';
import type { ReadinessCheck } from './health';
import { createLogger, type Logger } from './logging';
import { type RequestContext, type RunningSubgraph, startSubgraphServer } from './server';
import { Shutdown } from './shutdown';

type BaseConfig = ReturnType<typeof baseEnvSchema.parse> & { PORT: number };

/** A subgraph's schema file, parsed (it sits next to the caller: `loadSchema(import.meta.url)`). */
export function loadSchema(fromModuleUrl: string, file = './schema.graphql') {
  return gql(readFileSync(new URL(file, fromModuleUrl), 'utf8'));
}

export interface SubgraphParts<TContext extends RequestContext> {
  /** Typed where it is written, with the subgraph's generated resolver types. */
  resolvers: object;
  createContext?: (base: RequestContext) => TContext | Promise<TContext>;
  readiness?: Record<string, ReadinessCheck>;
  /** Started after the server listens (relays, consumers, jobs); each returns how to stop it. */
  background?: { name: string; start: () => Promise<() => Promise<unknown>> }[];
  /** Closed last (database clients, Redis). */
  resources?: { name: string; close: () => Promise<unknown> }[];
}

/**
 * The whole life of a subgraph process: server up, background work started, and on SIGTERM/SIGINT the
 * reverse: stop taking requests, stop background work, close resources. `index.ts` only wires parts.
 */
export async function runSubgraph<TContext extends RequestContext>(options: {
  name: string;
  config: BaseConfig;
  schemaUrl: string;
  build: (deps: { logger: Logger; tokenVerifier: TokenVerifier }) => Promise<SubgraphParts<TContext>>;
}): Promise<RunningSubgraph> {
  const { name, config } = options;
  const logger = createLogger(name, config.LOG_LEVEL);
  const shutdown = new Shutdown(logger, config.SHUTDOWN_TIMEOUT_MS);
  shutdown.installSignalHandlers();
  const tokenVerifier = await TokenVerifier.fromPem(config.JWT_PUBLIC_KEY, {
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
  });
  const parts = await options.build({ logger, tokenVerifier });
  for (const resource of parts.resources ?? []) shutdown.register(resource.name, resource.close);
  const server = await startSubgraphServer<TContext>({
    name,
    port: config.PORT,
    host: config.HOST,
    typeDefs: loadSchema(options.schemaUrl),
    resolvers: parts.resolvers,
    tokenVerifier,
    logger,
    corsOrigins: config.CORS_ORIGINS,
    ...(parts.createContext ? { createContext: parts.createContext } : {}),
    ...(parts.readiness ? { readiness: parts.readiness } : {}),
  });
  for (const job of parts.background ?? []) shutdown.register(job.name, await job.start());
  // Registered last, so it runs first: no new requests while the rest shuts down.
  shutdown.register('graphql server', server.stop);
  return server;
}
