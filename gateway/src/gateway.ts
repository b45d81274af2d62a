import { createServer, type Server } from 'node:http';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  formatError,
  type HealthState,
  type Logger,
  listen,
  mountGraphQL,
  mountHealthRoutes,
  type TokenVerifier,
} from '@shop/kit';
import express from 'express';
import { depthLimitPlugin } from './depth-limit';

/** What the gateway knows of a request: the caller's raw token, already verified once here. */
export interface GatewayContext {
  authorization: string | undefined;
}

/** Forwards the caller's token to every subgraph, which verifies it again (never trusting the gateway). */
class AuthForwardingDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  override willSendRequest({
    request,
    context,
  }: Parameters<RemoteGraphQLDataSource<GatewayContext>['willSendRequest'] & {}>[0]) {
    if (context.authorization) request.http?.headers.set('authorization', context.authorization);
  }
}

export interface GatewayOptions {
  supergraphSdl: string;
  port: number;
  host?: string;
  tokenVerifier: TokenVerifier;
  logger: Logger;
  /** Subgraph URLs that differ from those composed into the supergraph. */
  subgraphUrls?: Record<string, string>;
  maxQueryDepth?: number;
  corsOrigins?: readonly string[];
}

export interface RunningGateway {
  url: string;
  httpServer: Server;
  health: HealthState;
  stop: () => Promise<void>;
}

/**
 * The supergraph's single entry point: plans every operation across the subgraphs, forwards the caller's
 * token, serves Apollo Sandbox on GET /graphql. A bad token is refused here (401) before any planning.
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { logger, tokenVerifier } = options;
  const gateway = new ApolloGateway({
    supergraphSdl: options.supergraphSdl,
    buildService: ({ name, url }) => {
      const target = options.subgraphUrls?.[name] ?? url;
      if (!target) throw new Error(`subgraph ${name} has no URL`);
      return new AuthForwardingDataSource({ url: target });
    },
    logger,
  });
  const app = express();
  app.disable('x-powered-by');
  const httpServer = createServer(app);
  const health: HealthState = { draining: false };
  const server = new ApolloServer<GatewayContext>({
    gateway,
    introspection: true,
    // Clients get codes and messages, never stack traces or internal addresses (logged here instead).
    includeStacktraceInErrorResponses: false,
    formatError: (formatted, error) => formatError(logger, formatted, error),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      depthLimitPlugin(options.maxQueryDepth ?? 12),
    ],
  });
  await server.start();

  mountHealthRoutes(app, {}, health);
  mountGraphQL(app, server, {
    corsOrigins: options.corsOrigins,
    // Refuse a bad token here (401) before any planning; the subgraphs verify it again themselves.
    context: async (req) => {
      const authorization = req.headers.authorization;
      await tokenVerifier.fromAuthorizationHeader(authorization);
      return { authorization };
    },
  });
  const url = await listen(httpServer, options.port, options.host);
  logger.info({ url }, 'gateway ready');
  return {
    url,
    httpServer,
    health,
    stop: async () => {
      health.draining = true;
      await server.stop();
    },
  };
}
