export {
  type Role,
  requireAdmin,
  requireOwnerOrAdmin,
  requireViewer,
  TokenIssuer,
  type TokenSettings,
  TokenVerifier,
  type Viewer,
} from './auth';
export { baseEnvSchema, ConfigError, envSchemas, loadConfigOrExit, parseConfig } from './config';
export {
  AppError,
  badUserInput,
  conflict,
  type ErrorCode,
  forbidden,
  notFound,
  toGraphQLError,
  unauthenticated,
} from './errors';
export { type HealthState, mountHealthRoutes, type ReadinessCheck } from './health';
export { createLogger, type Logger } from './logging';
export {
  formatError,
  type RequestContext,
  type RunningSubgraph,
  type SubgraphServerOptions,
  startSubgraphServer,
} from './server';
export { Shutdown } from './shutdown';
export { parseInput } from './validation';
