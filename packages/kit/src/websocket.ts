// graphql-ws and ws for packages that do not depend on them directly (the gateway serves and opens graphql-ws
// sockets; its tests subscribe through it): one version for the whole workspace, the one the subgraphs serve.
export {
  type Client as GraphQLWsClient,
  type ClientOptions as GraphQLWsClientOptions,
  CloseCode,
  createClient as createGraphQLWsClient,
  type ExecutionResult as GraphQLWsExecutionResult,
  type ServerOptions as GraphQLWsServerOptions,
  type Sink as GraphQLWsSink,
  type SubscribePayload,
} from 'graphql-ws';
export { useServer as useGraphQLWsServer } from 'graphql-ws/use/ws';
export { WebSocket, WebSocketServer } from 'ws';
