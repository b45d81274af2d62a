import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type {
  ApolloServer,
  ApolloServerPlugin,
  BaseContext,
  GraphQLRequestContext,
  GraphQLRequestListener,
  HeaderMap,
  HTTPGraphQLHead,
  HTTPGraphQLRequest,
  HTTPGraphQLResponse,
} from '@apollo/server';
import { tracingEnabled } from '@shop/kit';
import {
  type DocumentNode,
  type GraphQLError,
  type GraphQLFormattedError,
  type GraphQLSchema,
  Kind,
  type OperationDefinitionNode,
} from 'graphql';

// Apollo Server's own pieces of its request pipeline, from the build `import '@apollo/server'` loads (dist/esm:
// the same module instances, so the same HeaderMap and error classes). They are not exported; @apollo/server
// is pinned in gateway/package.json, and gateway/test/known-operations-fast.e2e.test.ts compares every answer
// with Apollo's own, so an upgrade that changes them fails there.
const apolloEsm = join(dirname(createRequire(import.meta.url).resolve('@apollo/server')), '..', 'esm');
const fromApollo = (file: string) => import(pathToFileURL(join(apolloEsm, file)).href);
const [errorNormalize, errorClasses, httpQuery, apolloServer, cachePolicy, gatewayContext] =
  (await Promise.all([
    fromApollo('errorNormalize.js'),
    fromApollo('internalErrorClasses.js'),
    fromApollo('runHttpQuery.js'),
    fromApollo('ApolloServer.js'),
    fromApollo('cachePolicy.js'),
    fromApollo('utils/makeGatewayGraphQLRequestContext.js'),
  ])) as [
    {
      normalizeAndFormatErrors(
        errors: readonly GraphQLError[],
        options: object,
      ): {
        formattedErrors: GraphQLFormattedError[];
        httpFromErrors: HTTPGraphQLHead & { headers: HeaderMap };
      };
      ensureError(error: unknown): Error;
      ensureGraphQLError(error: unknown): GraphQLError;
    },
    { UserInputError: new (error: GraphQLError) => GraphQLError },
    {
      newHTTPGraphQLHead(status?: number): HTTPGraphQLHead & { headers: HeaderMap };
      mergeHTTPGraphQLHead(target: HTTPGraphQLHead, source: HTTPGraphQLHead): void;
    },
    { chooseContentTypeForSingleResultResponse(head: { headers: HeaderMap }): string | null },
    { newCachePolicy(): unknown },
    { makeGatewayGraphQLRequestContext(requestContext: object, server: object, internals: object): unknown },
  ];

/** What Apollo Server keeps inside (`internals`) that its pipeline uses; read, never changed. */
interface ApolloInternals<TContext extends BaseContext> {
  plugins: ApolloServerPlugin<TContext>[];
  formatError?: unknown;
  includeStacktraceInErrorResponses: boolean;
  status400ForVariableCoercionErrors: boolean;
  stringifyResult(value: unknown): string | Promise<string>;
  gatewayExecutor: ((context: never) => Promise<ExecutionResult>) | null;
  state: { phase: string };
}

interface ExecutionResult {
  data?: Record<string, unknown> | null;
  errors?: readonly GraphQLError[];
  extensions?: Record<string, unknown>;
}

/** An operation Apollo's pipeline served: its document parsed and validated against `schema`. */
interface Known {
  schema: GraphQLSchema;
  document: DocumentNode;
  operation: OperationDefinitionNode;
  operationName: string | null;
  queryHash: string;
}

type Listener<TContext extends BaseContext> = GraphQLRequestListener<TContext>;
type RequestContext<TContext extends BaseContext> = GraphQLRequestContext<TContext> & Record<string, unknown>;

// Listener hooks this path does not call. Apollo skips parsing and validation hooks too when its document store
// knows the query; a plugin answering operations itself (responseForOperation) would be skipped here, so its
// presence turns this path off for good.
const unsupportedHooks = ['responseForOperation'] as const;

function isStringRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

// requestPipeline's isBadUserInputGraphQLError: a variable graphql-js refused (Apollo codes it BAD_USER_INPUT).
function isBadUserInputGraphQLError(error: GraphQLError): boolean {
  const node = error.nodes?.length === 1 ? error.nodes[0] : undefined;
  if (node?.kind !== Kind.VARIABLE_DEFINITION) return false;
  const name = node.variable.name.value;
  return (
    error.message.startsWith(`Variable "$${name}" has invalid value`) ||
    error.message.startsWith(`Variable "$${name}" got invalid value `) ||
    error.message.startsWith(`Variable "$${name}" of required type `) ||
    error.message.startsWith(`Variable "$${name}" of non-null type `)
  );
}

/**
 * Promise.all of `call` over `items`, leaving out those without the hook (undefined): Apollo awaits a hook of
 * every plugin, defined or not; awaiting only the defined ones settles the same promises in the same order,
 * without a promise per plugin that has none (most of them, for most hooks).
 */
function invoke<T, R>(
  items: readonly T[],
  call: (item: T) => Promise<R> | undefined,
): Promise<R[]> | undefined {
  let pending: Promise<R>[] | undefined;
  for (const item of items) {
    const result = call(item);
    if (result === undefined) continue;
    if (pending === undefined) pending = [result];
    else pending.push(result);
  }
  return pending && Promise.all(pending);
}

/**
 * Serves operations Apollo Server has already served, without its HTTP and request pipeline around them.
 *
 * Once a POST's query text (+ operationName) has reached execution through `executeHTTPGraphQLRequest` (parsed,
 * validated against the API schema loaded now, every plugin's checks passed), its document is remembered here.
 * The same text again skips what only depends on the text: the SHA-256 Apollo keys its document store by, the
 * store's lookup, the body checks, the request-context and header objects Apollo builds per request. What depends
 * on the request still runs, in Apollo's order and with Apollo's own code where it is not exported: every
 * plugin Apollo runs (`requestDidStart`, `didResolveOperation`, `executionDidStart`, `didEncounterErrors`,
 * `willSendResponse`: the request guards, depth and query limits, authorization for this caller, the client rate
 * limit, metrics, cache control), the gateway's executor (variable coercion, the cached plan), error
 * normalization and `formatError`, the status (errors' `http` extension, 400 for refused variables) and content
 * negotiation. The answer's status, headers and bytes are Apollo's (gateway/test/known-operations-fast.e2e.test.ts).
 *
 * Everything else goes to Apollo: unknown texts, APQ and other `extensions`, GET, batches, a missing or refused
 * context (a bad token: Apollo answers it), an `accept` neither JSON type satisfies, tracing on, and operations
 * the CachedPlanExecutor leaves to Apollo's executor (subscriptions, @defer, introspection). A supergraph reload
 * forgets every known operation.
 */
export class KnownOperations<TContext extends BaseContext> {
  private readonly byQuery = new Map<string, Map<string | null, Known>>();
  private schema: GraphQLSchema | undefined;
  private disabled = false;
  /** Requests answered here (tests check that this path, not Apollo's, answered). */
  served = 0;

  constructor(
    /** Whether the gateway's executor runs the operation itself (CachedPlanExecutor.runsItself). */
    private readonly runsItself: (document: DocumentNode, operationName: string | undefined) => boolean,
    /** Most query texts remembered; past it the memory starts again (a client can send many valid texts). */
    private readonly maxQueries = 1000,
  ) {}

  /** The API schema the gateway loaded (first load or reload): what was known is forgotten. */
  schemaLoaded(schema: GraphQLSchema): void {
    this.schema = schema;
    this.byQuery.clear();
  }

  /** Remembers the operations Apollo's pipeline executes (installed as the last plugin). */
  plugin(): ApolloServerPlugin<TContext> {
    return {
      requestDidStart: async () => ({
        executionDidStart: async (requestContext) => this.remember(requestContext),
      }),
    };
  }

  private remember(requestContext: GraphQLRequestContext<TContext>): void {
    const { request, document, operation, schema, source, queryHash } = requestContext;
    if (
      request.http?.method !== 'POST' ||
      request.extensions !== undefined ||
      !document ||
      !operation ||
      operation.operation === 'subscription' ||
      schema !== this.schema ||
      typeof source !== 'string' ||
      source !== request.query ||
      !queryHash
    ) {
      return;
    }
    const operationName = request.operationName ?? null;
    let byName = this.byQuery.get(source);
    if (byName?.has(operationName)) return;
    if (!this.runsItself(document, operationName ?? undefined)) return;
    if (!byName) {
      if (this.byQuery.size >= this.maxQueries) this.byQuery.clear();
      byName = new Map();
      this.byQuery.set(source, byName);
    }
    byName.set(operationName, {
      schema,
      document,
      operation,
      operationName: requestContext.operationName ?? null,
      queryHash,
    });
  }

  /**
   * Apollo's answer to this POST if the operation is known, or undefined before anything ran: the caller then
   * hands the request to `executeHTTPGraphQLRequest`. `body` is the parsed JSON body; `headers` the request's.
   */
  async serve(
    apollo: ApolloServer<TContext>,
    body: unknown,
    headers: HeaderMap,
    context: () => Promise<TContext>,
  ): Promise<HTTPGraphQLResponse | undefined> {
    if (this.disabled || tracingEnabled() || !isStringRecord(body)) return undefined;
    const { query, operationName, variables, extensions } = body;
    // runHttpQuery's reading of a POST body; anything it would refuse or treat specially goes to it.
    if (typeof query !== 'string' || (extensions !== undefined && extensions !== null)) return undefined;
    if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') {
      return undefined;
    }
    if (variables !== undefined && variables !== null && !isStringRecord(variables)) return undefined;
    const known = this.byQuery.get(query)?.get(operationName ?? null);
    if (!known || known.schema !== this.schema) return undefined;
    const internals = (apollo as unknown as { internals: ApolloInternals<TContext> }).internals;
    if (internals.state.phase !== 'started' || !internals.gatewayExecutor) return undefined;
    const head = { headers };
    const contentType = apolloServer.chooseContentTypeForSingleResultResponse(head);
    if (contentType === null) return undefined; // 406, after running it: Apollo's answer
    let contextValue: TContext;
    try {
      contextValue = await context();
    } catch {
      return undefined; // a refused context is answered by Apollo (status, plugins' contextCreationDidFail)
    }
    const httpGraphQLRequest: HTTPGraphQLRequest = { method: 'POST', headers, search: '', body };
    const request = {
      query,
      operationName: typeof operationName === 'string' ? operationName : undefined,
      variables: isStringRecord(variables) ? variables : undefined,
      extensions: undefined,
      http: httpGraphQLRequest,
    };
    const requestContext = {
      logger: apollo.logger,
      cache: apollo.cache,
      schema: known.schema,
      request,
      response: { http: httpQuery.newHTTPGraphQLHead() },
      // Apollo gives the plugins a shallow copy of the context (cloneObject).
      contextValue: Object.assign(Object.create(Object.getPrototypeOf(contextValue)), contextValue),
      metrics: {},
      overallCachePolicy: cachePolicy.newCachePolicy(),
      requestIsBatched: false,
    } as unknown as RequestContext<TContext>;
    try {
      const response = await this.execute(apollo, internals, known, requestContext, contentType);
      if (response) this.served++;
      return response;
    } catch (maybeError) {
      // internalExecuteOperation's and executeHTTPGraphQLRequest's answer to an unexpected failure.
      const error = errorNormalize.ensureError(maybeError);
      await invoke(internals.plugins, (plugin) =>
        plugin.unexpectedErrorProcessingRequest?.({ requestContext: requestContext as never, error }),
      );
      apollo.logger.error(`Unexpected error processing request: ${error}`);
      const { errorResponse } = apollo as unknown as {
        errorResponse(error: Error, head: { headers: HeaderMap }): Promise<HTTPGraphQLResponse>;
      };
      this.served++;
      return errorResponse.call(apollo, new Error('Internal server error'), head);
    }
  }

  /** processGraphQLRequest from the point its document store has the document, then runHttpQuery's answer. */
  private async execute(
    apollo: ApolloServer<TContext>,
    internals: ApolloInternals<TContext>,
    known: Known,
    requestContext: RequestContext<TContext>,
    contentType: string,
  ): Promise<HTTPGraphQLResponse | undefined> {
    const { request } = requestContext;
    const listeners = (
      (await invoke(internals.plugins, (plugin) => plugin.requestDidStart?.(requestContext))) ?? []
    ).filter((listener): listener is Listener<TContext> => listener !== undefined && listener !== null);
    if (listeners.some((listener) => unsupportedHooks.some((hook) => listener[hook]))) {
      // Only requestDidStart ran (it has no effect of its own in any plugin we know): Apollo takes it.
      this.disabled = true;
      return undefined;
    }
    const metrics = requestContext.metrics as Record<string, unknown>;
    metrics.persistedQueryHit = false;
    metrics.persistedQueryRegister = false;
    Object.assign(requestContext, { queryHash: known.queryHash, source: request.query });
    await invoke(listeners, (listener) => listener.didResolveSource?.(requestContext as never));
    Object.assign(requestContext, {
      document: known.document,
      operation: known.operation,
      operationName: known.operationName,
    });
    const formatErrors = (errors: readonly GraphQLError[]) =>
      errorNormalize.normalizeAndFormatErrors(errors, {
        formatError: internals.formatError,
        includeStacktraceInErrorResponses: internals.includeStacktraceInErrorResponses,
      });
    const didEncounterErrors = async (errors: readonly GraphQLError[]) => {
      Object.assign(requestContext, { errors });
      await invoke(listeners, (listener) => listener.didEncounterErrors?.(requestContext as never));
    };
    const willSendResponse = () =>
      invoke(listeners, (listener) => listener.willSendResponse?.(requestContext as never));
    const sendErrorResponse = async (errors: GraphQLError[]) => {
      await didEncounterErrors(errors);
      const { formattedErrors, httpFromErrors } = formatErrors(errors);
      requestContext.response.body = { kind: 'single', singleResult: { errors: formattedErrors } };
      httpQuery.mergeHTTPGraphQLHead(requestContext.response.http, httpFromErrors);
      if (!requestContext.response.http.status) requestContext.response.http.status = 500;
      await willSendResponse();
      return this.answer(internals, requestContext, contentType);
    };
    try {
      await invoke(listeners, (listener) => listener.didResolveOperation?.(requestContext as never));
    } catch (error) {
      return sendErrorResponse([errorNormalize.ensureGraphQLError(error)]);
    }
    const executionListeners = (
      (await invoke(listeners, (listener) => listener.executionDidStart?.(requestContext as never))) ?? []
    ).filter((listener) => listener !== undefined && listener !== null);
    executionListeners.reverse();
    // (Apollo would instrument the schema's resolvers for willResolveField hooks: the gateway's executor runs
    // none of the schema's resolvers, so nothing would call them.)
    try {
      const executor = internals.gatewayExecutor as (context: unknown) => Promise<ExecutionResult>;
      const result = await executor(
        gatewayContext.makeGatewayGraphQLRequestContext(requestContext, apollo, internals),
      );
      const resultErrors = result.errors?.map((error) =>
        isBadUserInputGraphQLError(error) && error.extensions?.code == null
          ? new errorClasses.UserInputError(error)
          : error,
      );
      if (resultErrors) await didEncounterErrors(resultErrors);
      const { formattedErrors, httpFromErrors } = resultErrors
        ? formatErrors(resultErrors)
        : { formattedErrors: undefined, httpFromErrors: httpQuery.newHTTPGraphQLHead() };
      if (
        internals.status400ForVariableCoercionErrors &&
        resultErrors?.length &&
        result.data === undefined &&
        !httpFromErrors.status
      ) {
        httpFromErrors.status = 400;
      }
      httpQuery.mergeHTTPGraphQLHead(requestContext.response.http, httpFromErrors);
      requestContext.response.body = {
        kind: 'single',
        singleResult: { ...result, errors: formattedErrors } as never,
      };
    } catch (maybeError) {
      const error = errorNormalize.ensureError(maybeError);
      await invoke(executionListeners, (listener) => listener.executionDidEnd?.(error));
      return sendErrorResponse([errorNormalize.ensureGraphQLError(error)]);
    }
    await invoke(executionListeners, (listener) => listener.executionDidEnd?.());
    await willSendResponse();
    return this.answer(internals, requestContext, contentType);
  }

  /** runHttpQuery's answer to a single result: its content type, and the result's fields in Apollo's order. */
  private async answer(
    internals: ApolloInternals<TContext>,
    requestContext: RequestContext<TContext>,
    contentType: string,
  ): Promise<HTTPGraphQLResponse> {
    const { http, body } = requestContext.response;
    if (body?.kind !== 'single') throw new Error('the known-operations path answers single results only');
    if (!http.headers.get('content-type')) http.headers.set('content-type', contentType);
    const { errors, data, extensions } = body.singleResult;
    return {
      ...http,
      body: { kind: 'complete', string: await internals.stringifyResult({ errors, data, extensions }) },
    };
  }
}
