import {
  type ApolloGateway,
  buildOperationContext,
  executeQueryPlan,
  type GraphQLDataSource,
} from '@apollo/gateway';
import type { Logger, Viewer } from '@shop/kit';
import { type DocumentNode, GraphQLError, type OperationDefinitionNode, print } from 'graphql';
import type { GatewayContext } from '../gateway';
import { BoundedChannel } from './channel';
import { subscriptionError } from './errors';
import {
  type FetchNode,
  type GatewayPlanner,
  type GatewayRequestContext,
  type OperationContext,
  operationFromDocument,
  plannerOf,
  type QueryPlan,
  type RestNode,
} from './internals';
import { clientErrorFromUpstream, type UpstreamPool, type UpstreamResult } from './upstream';

/** One result sent to a client: data shaped like the operation, errors still to be formatted. */
export type SubscriptionResult = { data: Record<string, unknown> | null; errors?: readonly GraphQLError[] };

/** A validated subscription operation, planned against the supergraph loaded now. */
export interface PreparedSubscription {
  planner: GatewayPlanner;
  operationContext: OperationContext;
  primary: FetchNode;
  rest: RestNode | undefined;
  document: DocumentNode;
  query: string;
  operationName: string | undefined;
  variables: Record<string, unknown>;
  /** The subscription's root field (a subscription selects exactly one). */
  rootField: string;
  /** The document printed (normalised), for the key of a shared stream. */
  printed: string;
}

/** The part of a prepared subscription every subscriber of one document shares. */
type SharedPlan = Pick<
  PreparedSubscription,
  'planner' | 'operationContext' | 'primary' | 'rest' | 'rootField' | 'printed'
>;

/** Who subscribes: their verified credentials, forwarded upstream and to every hydration fetch. */
export interface Subscriber {
  context: GatewayContext;
  viewer: Viewer | undefined;
  /** Runs once when this subscription ends, however it ends (frees its place in the limits). */
  onEnd: () => void;
}

export interface SubscriptionStreamsOptions {
  gateway: ApolloGateway;
  pool: UpstreamPool;
  logger: Logger;
  /** Events a subscriber may have waiting (undelivered); one more ends it with SUBSCRIPTION_QUEUE_OVERFLOW. */
  maxQueue: number;
  /** Where a subgraph really is (the gateway's subgraphUrls override); its graphql-ws endpoint is the same path. */
  subgraphUrl: (name: string, composedUrl: string | undefined) => string;
  /**
   * Root fields whose events are the same for every subscriber holding a role (not personal): subscribers
   * with that role and an identical operation share one upstream subscription and one hydration per event.
   */
  shared: Readonly<Record<string, 'ADMIN' | 'CUSTOMER'>>;
}

// The name under which the upstream event is "fetched" in the per-event plan: not a subgraph name.
const EVENT_SOURCE = '__subscription_event__';

type Upstream = { kind: 'event'; result: UpstreamResult } | { kind: 'end'; error?: GraphQLError };

/** A member of a stream: its queue of shaped results, read by graphql-ws. */
interface Member {
  subscriber: Subscriber;
  channel: BoundedChannel<SubscriptionResult>;
}

/**
 * One upstream subscription and its hydration, feeding one subscriber or, for a shared operation, several.
 * Events are hydrated one at a time in arrival order; each result is queued for every member.
 */
class Stream {
  readonly members = new Set<Member>();
  private readonly pending: Upstream[] = [];
  private pumping = false;
  private stopped = false;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly owner: SubscriptionStreams,
    readonly key: string | undefined,
    private readonly prepared: PreparedSubscription,
    private carrier: Subscriber,
  ) {}

  start(): void {
    const { primary, planner, variables } = this.prepared;
    const service = planner.serviceMap[primary.serviceName];
    const url = this.owner.options.subgraphUrl(primary.serviceName, service?.url).replace(/^http/, 'ws');
    const upstreamVariables = Object.fromEntries(
      (primary.variableUsages ?? [])
        .filter((name) => name in variables)
        .map((name) => [name, variables[name]]),
    );
    this.unsubscribe = this.owner.options.pool.subscribe(
      primary.serviceName,
      url,
      this.carrier.context.authorization,
      { query: primary.operation, variables: upstreamVariables, operationName: primary.operationName },
      {
        next: (result) => this.enqueue({ kind: 'event', result }),
        error: (error) => this.enqueue({ kind: 'end', error }),
        complete: () => this.enqueue({ kind: 'end' }),
      },
    );
  }

  join(subscriber: Subscriber): BoundedChannel<SubscriptionResult> {
    const member: Member = {
      subscriber,
      channel: new BoundedChannel<SubscriptionResult>(this.owner.options.maxQueue, () => {
        this.members.delete(member);
        subscriber.onEnd();
        if (this.members.size === 0) this.stop();
      }),
    };
    this.members.add(member);
    return member.channel;
  }

  /** Ends every member with `error` (after what is already queued for them) and the upstream subscription. */
  endAll(error: GraphQLError): void {
    this.stop();
    for (const member of [...this.members]) member.channel.end(error);
  }

  private enqueue(item: Upstream): void {
    if (this.stopped) return;
    // Events not hydrated yet count against the same bound as each member's queue.
    if (item.kind === 'event' && this.pending.length >= this.owner.options.maxQueue) {
      this.endAll(overflow(this.owner.options.maxQueue));
      return;
    }
    this.pending.push(item);
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let item = this.pending.shift(); item && !this.stopped; item = this.pending.shift()) {
        if (item.kind === 'end') {
          if (item.error?.extensions.code === 'UNAUTHENTICATED' && this.handOver(item.error)) continue;
          this.stop();
          for (const member of [...this.members]) member.channel.end(item.error);
          return;
        }
        const result = await this.hydrate(item.result);
        for (const member of [...this.members]) {
          if (member.channel.push(result) === 'full') member.channel.end(overflow(member.channel.capacity));
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  /**
   * A shared stream runs upstream with one member's credentials (the carrier's). When the subgraph refuses them
   * (the carrier's token expired), the stream resubscribes with the member whose token lasts longest; members
   * holding the refused token end with the error (their own sockets close at that expiry anyway). An event
   * published during the resubscription (milliseconds) can be missed by the other members: the feeds keep no
   * history.
   */
  private handOver(error: GraphQLError): boolean {
    if (!this.key) return false;
    const refused = this.carrier.context.authorization;
    const soon = Date.now() + 1000;
    const next = [...this.members]
      .map((member) => member.subscriber)
      .filter((s) => s.context.authorization !== refused && (s.viewer?.expiresAt?.getTime() ?? 0) > soon)
      .sort((a, b) => (b.viewer?.expiresAt?.getTime() ?? 0) - (a.viewer?.expiresAt?.getTime() ?? 0))[0];
    if (!next) return false;
    for (const member of [...this.members]) {
      if (member.subscriber.context.authorization === refused) member.channel.end(error);
    }
    this.owner.options.logger.debug({ key: this.key }, 'shared subscription handed over to another member');
    this.carrier = next;
    this.start();
    return true;
  }

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.pending.length = 0;
    this.unsubscribe?.();
    this.owner.forget(this);
  }

  /**
   * Shapes one upstream event like a query result, fetching the fields other subgraphs own: the plan
   * `Sequence[primary, rest]` where `primary` is answered with the event itself (executeQueryPlan refuses a
   * Subscription node, and does everything else a query needs: entity fetches, rewrites, result shaping).
   */
  private async hydrate(event: UpstreamResult): Promise<SubscriptionResult> {
    const { logger } = this.owner.options;
    const { planner, primary, rest, operationContext } = this.prepared;
    const upstreamErrors = (event.errors ?? []).map((e) =>
      clientErrorFromUpstream(e, primary.serviceName, logger),
    );
    if (!event.data) return { data: null, errors: upstreamErrors };
    this.owner.hydrations += 1;
    const eventSource: GraphQLDataSource = {
      process: async () => ({ data: structuredClone(event.data as Record<string, unknown>) }),
    };
    const serviceMap: Record<string, GraphQLDataSource> = { [EVENT_SOURCE]: eventSource };
    for (const [name, { dataSource }] of Object.entries(planner.serviceMap)) serviceMap[name] = dataSource;
    const eventFetch: FetchNode = { ...primary, serviceName: EVENT_SOURCE };
    const plan: QueryPlan = {
      kind: 'QueryPlan',
      node: rest ? { kind: 'Sequence', nodes: [eventFetch, rest] } : eventFetch,
    };
    try {
      const result = await executeQueryPlan(
        plan,
        serviceMap,
        this.requestContext(),
        operationContext,
        planner.supergraphSchema,
        planner.apiSchema,
      );
      const errors = [...upstreamErrors, ...(result.errors ?? [])];
      return { data: result.data ?? null, ...(errors.length > 0 ? { errors } : {}) };
    } catch (error) {
      logger.error({ err: error, subgraph: primary.serviceName }, 'subscription event could not be hydrated');
      return {
        data: null,
        errors: [
          new GraphQLError('Internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } }),
        ],
      };
    }
  }

  /** What executeQueryPlan and the data sources read of a request (the gateway's `executor` has Apollo's). */
  private requestContext(): GatewayRequestContext {
    const { query, variables, operationName, document, planner, operationContext } = this.prepared;
    return {
      request: { query, variables, ...(operationName ? { operationName } : {}) },
      context: this.carrier.context,
      logger: this.owner.options.logger,
      metrics: {},
      document,
      source: query,
      operationName: operationName ?? null,
      operation: operationContext.operation,
      schema: planner.schema,
      queryHash: '',
      overallCachePolicy: undefined,
    } as unknown as GatewayRequestContext;
  }
}

function overflow(capacity: number): GraphQLError {
  return subscriptionError(
    'SUBSCRIPTION_QUEUE_OVERFLOW',
    `More than ${capacity} events waited for this client: the subscription ends; subscribe again`,
  );
}

/** Sorted-key JSON, so equal variables give equal sharing keys whatever their order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Runs subscriptions the query planner plans but @apollo/gateway refuses to execute: `primary` is opened
 * upstream over graphql-ws with the caller's credentials (pooled sockets, UpstreamPool), and each event runs
 * `rest` through executeQueryPlan, the gateway's own executor.
 */
export class SubscriptionStreams {
  private readonly streams = new Set<Stream>();
  private readonly plans = new WeakMap<DocumentNode, Map<string, SharedPlan>>();
  private readonly sharedStreams = new Map<string, Stream>();

  /** Events hydrated since start (one per upstream event, however many subscribers share it). */
  hydrations = 0;

  constructor(readonly options: SubscriptionStreamsOptions) {}

  /** Plans a validated subscription operation; throws when the supergraph cannot plan it. */
  prepare(
    document: DocumentNode,
    operation: OperationDefinitionNode,
    query: string,
    variables: Record<string, unknown>,
  ): PreparedSubscription {
    const planner = plannerOf(this.options.gateway);
    const operationName = operation.name?.value;
    // Documents come from the server's DocumentCache: every subscriber of one operation text shares the
    // document, so the plan is made once for all of them (plans do not depend on variable values).
    let byName = this.plans.get(document);
    if (!byName) {
      byName = new Map();
      this.plans.set(document, byName);
    }
    let plan = byName.get(operationName ?? '');
    // plannerOf builds a new wrapper each call: the supergraph changed when its schema did.
    if (!plan || plan.planner.schema !== planner.schema) {
      plan = this.plan(planner, document, operation, operationName);
      byName.set(operationName ?? '', plan);
    }
    return { ...plan, document, query, operationName, variables };
  }

  private plan(
    planner: GatewayPlanner,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    operationName: string | undefined,
  ): SharedPlan {
    const operationContext = buildOperationContext({
      schema: planner.schema,
      operationDocument: document,
      ...(operationName ? { operationName } : {}),
    });
    const plan = planner.queryPlanner.buildQueryPlan(
      operationFromDocument(planner.apiSchema, document, operationName),
    );
    if (plan.node?.kind !== 'Subscription')
      throw new Error(`a subscription was planned as ${plan.node?.kind}`);
    const first = operation.selectionSet.selections[0];
    const rootField = first?.kind === 'Field' ? first.name.value : '';
    return {
      planner,
      operationContext,
      primary: plan.node.primary,
      rest: plan.node.rest,
      rootField,
      printed: print(document),
    };
  }

  /** Starts (or joins, when shared) the subscription; the result is read by graphql-ws. */
  subscribe(prepared: PreparedSubscription, subscriber: Subscriber): BoundedChannel<SubscriptionResult> {
    const role = this.options.shared[prepared.rootField];
    const key =
      role && subscriber.viewer?.role === role
        ? `${role}\u0000${prepared.operationName ?? ''}\u0000${prepared.printed}\u0000${canonical(prepared.variables)}`
        : undefined;
    const existing = key ? this.sharedStreams.get(key) : undefined;
    if (existing) return existing.join(subscriber);
    const stream = new Stream(this, key, prepared, subscriber);
    this.streams.add(stream);
    if (key) this.sharedStreams.set(key, stream);
    const channel = stream.join(subscriber);
    stream.start();
    return channel;
  }

  /** Ends every subscription with `error` (a supergraph reload, shutdown). */
  endAll(error: GraphQLError): void {
    for (const stream of [...this.streams]) stream.endAll(error);
  }

  /** Upstream subscriptions open now, and subscribers across them (for tests and metrics). */
  stats(): { streams: number; subscribers: number; hydrations: number } {
    let subscribers = 0;
    for (const stream of this.streams) subscribers += stream.members.size;
    return { streams: this.streams.size, subscribers, hydrations: this.hydrations };
  }

  /** @internal A stream that stopped. */
  forget(stream: Stream): void {
    this.streams.delete(stream);
    if (stream.key && this.sharedStreams.get(stream.key) === stream) this.sharedStreams.delete(stream.key);
  }
}
