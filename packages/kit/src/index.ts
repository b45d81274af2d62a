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
export { baseEnvSchema, ConfigError, envSchemas, loadConfigOrExit, parseConfig, readEnvFile } from './config';
export { corsFor } from './cors';
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
  type Connection,
  createdAtCursor,
  DEFAULT_PAGE_SIZE,
  encodeCursor,
  MAX_PAGE_SIZE,
  type Page,
  type PageArgs,
  readPage,
  toConnection,
} from './pagination';
export { PeriodicJob, type PeriodicJobOptions } from './periodic-job';
export { loadSchema, runSubgraph, type SubgraphParts } from './run';
export { DateTimeScalar, DecimalScalar, money } from './scalars';
export {
  formatError,
  listen,
  mountGraphQL,
  type RequestContext,
  type RunningSubgraph,
  type SubgraphServerOptions,
  startSubgraphServer,
} from './server';
export { Shutdown } from './shutdown';
export { parseInput } from './validation';
