import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { type DocumentNode, type GraphQLFormattedError, getOperationAST } from 'graphql';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from './logging';

// The Prometheus metrics of issue 15 (observability contract): every name, label and bucket is defined here,
// once. One Registry per running service (not prom-client's global one): tests run several subgraphs in one
// process, and each must report only its own series, all carrying the constant label `service`.

/** Label values that stay few: the first `max` distinct values seen, then `other`; never an id. */
export class BoundedLabel {
  private readonly seen = new Set<string>();

  constructor(
    private readonly max: number,
    private readonly empty: string,
  ) {}

  /** The label for `value`: `empty` when there is none, `other` past the bound or for an id-like value. */
  of(value: string | null | undefined): string {
    if (value === undefined || value === null || value === '') return this.empty;
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max || !isNameLike(value)) return 'other';
    this.seen.add(value);
    return value;
  }
}

// A GraphQL name of sane length, without the runs of digits or hex that make a value an id (a client that
// names each operation after an order would otherwise fill the bound with ids).
const NAME = /^[_A-Za-z][_0-9A-Za-z]{0,99}$/;
const ID_LIKE = /\d{4,}|[0-9a-f]{8,}/i;
function isNameLike(value: string): boolean {
  return NAME.test(value) && !ID_LIKE.test(value);
}

/** At most this many distinct operation names per process; later ones count as `other`. */
export const MAX_OPERATION_NAMES = 200;

const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type OperationOutcome = 'ok' | 'error';
export type ConsumedOutcome = 'handled' | 'duplicate' | 'retried' | 'dead_lettered';

function gatewayMetrics(registry: Registry) {
  return {
    subgraphFetchDuration: new Histogram({
      name: 'shop_gateway_subgraph_fetch_duration_seconds',
      help: 'Time of one fetch from the gateway to a subgraph, until its whole answer arrived',
      labelNames: ['subgraph', 'outcome'] as const,
      buckets: durationBuckets,
      registers: [registry],
    }),
    upstreamSockets: new Gauge({
      name: 'shop_gateway_upstream_sockets',
      help: 'Open keep-alive connections from the gateway to each subgraph',
      labelNames: ['subgraph'] as const,
      registers: [registry],
    }),
  };
}

function eventMetrics(registry: Registry) {
  return {
    consumerLag: new Gauge({
      name: 'shop_kafka_consumer_lag',
      help: 'Messages a consumer group has not committed yet, per partition (measured on scrape)',
      labelNames: ['group', 'topic', 'partition'] as const,
      registers: [registry],
    }),
    outboxBacklog: new Gauge({
      name: 'shop_outbox_backlog',
      help: 'Outbox rows not published to Kafka yet (measured on scrape)',
      registers: [registry],
    }),
    outboxOldestAge: new Gauge({
      name: 'shop_outbox_oldest_unpublished_age_seconds',
      help: 'Age of the oldest unpublished outbox row, 0 when none (measured on scrape)',
      registers: [registry],
    }),
    published: new Counter({
      name: 'shop_events_published_total',
      help: 'Events the outbox relay published to Kafka',
      labelNames: ['topic'] as const,
      registers: [registry],
    }),
    consumed: new Counter({
      name: 'shop_events_consumed_total',
      help: 'Messages a consumer group handled, found already handled, retried, or dead-lettered',
      labelNames: ['group', 'topic', 'outcome'] as const,
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'shop_dead_letters_total',
      help: 'Messages a consumer group wrote to its dead-letter topic',
      labelNames: ['group', 'topic'] as const,
      registers: [registry],
    }),
  };
}

function inventoryMetrics(registry: Registry) {
  return {
    expiryRuns: new Counter({
      name: 'shop_reservation_expiry_runs_total',
      help: 'Runs of the reservation-expiry job',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    reservationsExpired: new Counter({
      name: 'shop_reservations_expired_total',
      help: 'Reservations the expiry job released',
      registers: [registry],
    }),
  };
}

function notificationMetrics(registry: Registry) {
  return {
    emailsSent: new Counter({
      name: 'shop_emails_sent_total',
      help: 'Emails the SMTP server accepted',
      labelNames: ['template'] as const,
      registers: [registry],
    }),
    emailsFailed: new Counter({
      name: 'shop_emails_failed_total',
      help: 'Attempts to send an email that failed',
      labelNames: ['template'] as const,
      registers: [registry],
    }),
  };
}

export type GatewayMetrics = ReturnType<typeof gatewayMetrics>;
export type EventMetrics = ReturnType<typeof eventMetrics>;
export type InventoryMetrics = ReturnType<typeof inventoryMetrics>;
export type NotificationMetrics = ReturnType<typeof notificationMetrics>;

/** Something measured when Prometheus scrapes (a count that needs a query); it must not throw. */
export type ScrapeHook = () => Promise<void> | void;

/**
 * One service's metrics: the GraphQL series every service has, the process's default metrics, and, created
 * on first use, the groups of the gateway, events, inventory and notifications (so a service shows only the
 * series it can move).
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly operationNames = new BoundedLabel(MAX_OPERATION_NAMES, 'anonymous');
  private readonly codes = new BoundedLabel(100, 'INTERNAL_SERVER_ERROR');
  private readonly hooks = new Set<ScrapeHook>();
  private readonly groups = new Map<string, unknown>();

  readonly operations: Counter<'operation_name' | 'operation_type' | 'outcome'>;
  readonly operationDuration: Histogram<'operation_name' | 'operation_type'>;
  readonly errors: Counter<'code'>;
  readonly subscriptionsActive: Gauge;

  constructor(
    readonly service: string,
    options: { defaultMetrics?: boolean } = {},
  ) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ service });
    this.operations = new Counter({
      name: 'shop_graphql_operations_total',
      help: 'GraphQL operations served (HTTP and graphql-ws)',
      labelNames: ['operation_name', 'operation_type', 'outcome'] as const,
      registers,
    });
    this.operationDuration = new Histogram({
      name: 'shop_graphql_operation_duration_seconds',
      help: 'Time from receiving a GraphQL operation to its answer (a subscription: until it started)',
      labelNames: ['operation_name', 'operation_type'] as const,
      buckets: durationBuckets,
      registers,
    });
    this.errors = new Counter({
      name: 'shop_graphql_errors_total',
      help: 'GraphQL errors answered, by code',
      labelNames: ['code'] as const,
      registers,
    });
    this.subscriptionsActive = new Gauge({
      name: 'shop_subscriptions_active',
      help: 'GraphQL subscriptions open now',
      registers,
    });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  private group<T>(name: string, create: (registry: Registry) => T): T {
    let group = this.groups.get(name) as T | undefined;
    if (group === undefined) {
      group = create(this.registry);
      this.groups.set(name, group);
    }
    return group;
  }

  gateway(): GatewayMetrics {
    return this.group('gateway', gatewayMetrics);
  }

  events(): EventMetrics {
    return this.group('events', eventMetrics);
  }

  inventory(): InventoryMetrics {
    return this.group('inventory', inventoryMetrics);
  }

  notifications(): NotificationMetrics {
    return this.group('notifications', notificationMetrics);
  }

  /** Runs `hook` before every scrape; returns how to remove it. */
  onScrape(hook: ScrapeHook): () => void {
    this.hooks.add(hook);
    return () => this.hooks.delete(hook);
  }

  /** One operation answered: counted, timed, and each of its errors counted by code. */
  observeOperation(operation: {
    name: string | null | undefined;
    type: string | undefined;
    seconds: number;
    /** Counted by code (leave out when they are counted where they are sent). */
    errors?: readonly Pick<GraphQLFormattedError, 'extensions'>[] | undefined;
    /** Default: whether `errors` has any. */
    failed?: boolean;
  }): void {
    const labels = {
      operation_name: this.operationNames.of(operation.name),
      operation_type: operation.type ?? 'unknown',
    };
    const failed = operation.failed ?? (operation.errors?.length ?? 0) > 0;
    this.operations.inc({ ...labels, outcome: failed ? 'error' : 'ok' });
    this.operationDuration.observe(labels, operation.seconds);
    if (operation.errors) this.countErrors(operation.errors);
  }

  countErrors(errors: readonly Pick<GraphQLFormattedError, 'extensions'>[]): void {
    for (const error of errors) {
      const code = error.extensions?.code;
      this.errors.inc({ code: this.codes.of(typeof code === 'string' ? code : undefined) });
    }
  }

  /** The Prometheus text of every series, after the scrape hooks measured what they measure. */
  async scrape(): Promise<string> {
    // A hook that fails leaves its series as they were; it logs why itself.
    await Promise.allSettled([...this.hooks].map(async (hook) => hook()));
    return this.registry.metrics();
  }
}

function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}

/**
 * Counts and times every operation Apollo runs (the gateway's and the subgraphs' HTTP requests, and the
 * gateway's websocket queries and mutations), with the errors of the answer as the client got them.
 */
export function metricsPlugin<TContext extends BaseContext>(
  metrics: ServiceMetrics,
): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      const start = performance.now();
      return {
        async willSendResponse({ operation, operationName, request, response }) {
          const body = response.body;
          metrics.observeOperation({
            name: operationName ?? request.operationName,
            type: operation?.operation,
            seconds: secondsSince(start),
            errors: body.kind === 'single' ? body.singleResult.errors : body.initialResult.errors,
          });
        },
      };
    },
  };
}

interface WsOperation {
  start: number;
  name: string | null | undefined;
  /** Set once the operation ran (counted); a subscription keeps its entry until it completes. */
  counted?: boolean;
  subscribed?: boolean;
}

/**
 * The same series for operations over a subgraph's graphql-ws socket: the server calls these from its
 * graphql-ws hooks (`started` in onSubscribe, `ran` in onOperation, `answered` with the errors it sends,
 * `completed` in onComplete). Entries are kept per socket, so a closed socket leaves nothing behind.
 */
export class WsOperationMetrics {
  private readonly sockets = new WeakMap<object, Map<string, WsOperation>>();

  constructor(private readonly metrics: ServiceMetrics) {}

  private operationsOf(socket: object): Map<string, WsOperation> {
    let operations = this.sockets.get(socket);
    if (!operations) {
      operations = new Map();
      this.sockets.set(socket, operations);
    }
    return operations;
  }

  started(socket: object, id: string, operationName: string | null | undefined): void {
    this.operationsOf(socket).set(id, { start: performance.now(), name: operationName });
  }

  ran(
    socket: object,
    id: string,
    args: { document: DocumentNode; operationName?: string | null | undefined },
    result: unknown,
  ): void {
    const operation = this.operationsOf(socket).get(id);
    if (!operation) return;
    operation.counted = true;
    const errors =
      typeof result === 'object' && result !== null && 'errors' in result
        ? (result as { errors?: readonly GraphQLFormattedError[] }).errors
        : undefined;
    // Only the outcome here; the errors are counted by code as they are sent (answered), formatted.
    this.metrics.observeOperation({
      name: args.operationName ?? operation.name,
      type: getOperationAST(args.document, args.operationName)?.operation,
      seconds: secondsSince(operation.start),
      failed: (errors?.length ?? 0) > 0,
    });
    if (typeof result === 'object' && result !== null && Symbol.asyncIterator in result) {
      operation.subscribed = true;
      this.metrics.subscriptionsActive.inc();
    }
  }

  /** Errors sent to the client (refusals, validation, a failed query, a subscription's failing event). */
  answered(socket: object, id: string, errors: readonly GraphQLFormattedError[]): void {
    this.metrics.countErrors(errors);
    const operations = this.operationsOf(socket);
    const operation = operations.get(id);
    if (operation && !operation.counted) {
      // Refused before it ran (limits, validation): graphql-ws calls no onComplete for it.
      this.metrics.observeOperation({
        name: operation.name,
        type: undefined,
        seconds: secondsSince(operation.start),
        failed: true,
      });
      operations.delete(id);
    }
  }

  completed(socket: object, id: string): void {
    const operations = this.operationsOf(socket);
    if (operations.get(id)?.subscribed) this.metrics.subscriptionsActive.dec();
    operations.delete(id);
  }
}

export interface MetricsServerOptions {
  /** 0 picks a free port (tests). */
  port: number;
  host: string;
  logger: Logger;
}

export interface RunningMetricsServer {
  /** Where Prometheus scrapes: `http://<host>:<port>/metrics`. */
  url: string;
  stop: () => Promise<void>;
}

/**
 * `GET /metrics` on a port of its own (never the GraphQL port, which clients reach): the Prometheus text
 * format; anything else is 404.
 */
export async function startMetricsServer(
  metrics: ServiceMetrics,
  options: MetricsServerOptions,
): Promise<RunningMetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = req.url?.split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found');
      return;
    }
    metrics.scrape().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (error: unknown) => {
        options.logger.error({ err: error }, 'metrics scrape failed');
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('scrape failed');
      },
    );
  });
  server.keepAliveTimeout = 65_000; // longer than Prometheus' scrape interval: one connection per scraper
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/metrics`;
  options.logger.info({ url }, 'metrics served');
  return {
    url,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Where the metrics server listens, from the server settings (METRICS_*); undefined when turned off. */
export function metricsListenOf(config: {
  HOST: string;
  METRICS_ENABLED: boolean;
  METRICS_PORT: number;
  METRICS_HOST: string;
}): { port: number; host: string } | undefined {
  if (!config.METRICS_ENABLED) return undefined;
  return { port: config.METRICS_PORT, host: config.METRICS_HOST || config.HOST };
}
