export {
  closeAtTokenExpiry,
  MAX_CLOCK_SKEW_SECONDS,
  type Role,
  requireAdmin,
  requireOwnerOrAdmin,
  requireViewer,
  TokenIssuer,
  type TokenSettings,
  TokenVerifier,
  type Viewer,
} from './auth';
export {
  ConfigError,
  type EnvModelName,
  envModels,
  envSchemas,
  loadConfigOrExit,
  parseConfig,
  queryLimitsOf,
  readEnvFile,
} from './config';
export { corsFor } from './cors';
export {
  costWeights,
  defaultQueryLimits,
  measureOperation,
  type OperationMeasure,
  type QueryLimits,
  queryLimitRefusal,
  queryLimitsPlugin,
  queryTooLarge,
} from './cost-limit';
export {
  currentDeadline,
  deadlinePlugin,
  enforceDeadlines,
  isStatementTimeout,
  RequestDeadline,
  startDeadline,
  statementTimeoutError,
} from './deadline';
export { entityTypesOf, guardEntityRepresentations, representationProblem } from './entities';
export {
  AppError,
  badUserInput,
  type ClientErrorCode,
  clientErrorCodes,
  conflict,
  DependencyUnavailable,
  dependencyUnavailableError,
  type ErrorCode,
  forbidden,
  type HttpErrorCode,
  notFound,
  refusalCodes,
  requestError,
  toGraphQLError,
  unauthenticated,
} from './errors';
export {
  type ClientInfo,
  clientAddressOf,
  FORWARDED_CLIENT_HEADER,
  gatewaySecretSetting,
  normaliseAddress,
  parseTrustedProxies,
  readForwardedClient,
  signForwardedClient,
  trustedProxiesSetting,
} from './forwarded-client';
export { type HealthState, mountHealthRoutes, type ReadinessCheck } from './health';
export {
  clientErrorOf,
  createApp,
  currentRequestId,
  errorBody,
  jsonBody,
  jsonErrorHandler,
  MAX_BODY_BYTES,
  mountErrorHandlers,
  REQUEST_ID_HEADER,
  requestIdOf,
  requestIds,
  requestScope,
  strictUtf8Text,
} from './http';
export { createByIdLoader, normaliseId } from './loaders';
export { createLogger, type LogFields, type Logger, withLogFields } from './logging';
export {
  BoundedLabel,
  type ConsumedOutcome,
  type EventMetrics,
  type GatewayMetrics,
  type InventoryMetrics,
  MAX_OPERATION_NAMES,
  type MetricsServerOptions,
  metricsListenOf,
  metricsPlugin,
  type NotificationMetrics,
  type RunningMetricsServer,
  type ScrapeHook,
  ServiceMetrics,
  startMetricsServer,
  WsOperationMetrics,
} from './metrics';
export {
  type Connection,
  createdAtCursor,
  cursorInstant,
  DEFAULT_PAGE_SIZE,
  encodeCursor,
  type KeysetAfter,
  MAX_PAGE_SIZE,
  newestFirstPage,
  type Page,
  type PageArgs,
  readPage,
  toConnection,
} from './pagination';
export { PeriodicJob, type PeriodicJobOptions } from './periodic-job';
export {
  assertAllowed,
  type RateLimitDecision,
  RateLimiter,
  RateLimiterUnavailable,
  type RateLimitRule,
  type RedisEval,
  rateLimited,
} from './rate-limit';
export { documentHasNul, findNul, nulRefusal, requestGuardsPlugin } from './request-guards';
export { applyKitScalars, DateTimeScalar, DecimalScalar, kitScalars, money } from './scalars';
export { commonResolvers, commonSchemaPath, loadSchema, subgraphSdl } from './schema';
export {
  formatError,
  leaksInternals,
  listen,
  mountGraphQL,
  type RequestContext,
  type RunningSubgraph,
  type SubgraphServerOptions,
  startSubgraphServer,
} from './server';
export { Shutdown } from './shutdown';
export {
  activeTraceIds,
  contextFromCarrier,
  failSpan,
  graphqlSpanPlugin,
  injectTraceHeaders,
  inSpan,
  type ReadableSpan,
  type RecordedTraces,
  recordTraces,
  type Span,
  SpanKind,
  SpanStatusCode,
  serveInSpan,
  spanAttributes,
  spanCarrier,
  startSpan,
  startTracing,
  type TraceCarrier,
  type Tracing,
  type TracingSettings,
  traceCarrier,
  tracingEnabled,
  tracingSettings,
} from './tracing';
export { parseInput } from './validation';
export {
  CloseCode,
  createGraphQLWsClient,
  type GraphQLWsClient,
  type GraphQLWsClientOptions,
  type GraphQLWsExecutionResult,
  type GraphQLWsServerOptions,
  type GraphQLWsSink,
  type SubscribePayload,
  useGraphQLWsServer,
  WebSocket,
  WebSocketServer,
} from './websocket';
