import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'graphql';
import { composeSupergraph } from '../../../gateway/src/compose';
import { type BenchOptions, type BenchRow, type BenchScenario, median, type TargetCheck } from '../harness';
import {
  type Call,
  callOf,
  expectAnswer,
  type GraphQLRequest,
  headersOf,
  type LoadResult,
  type PlanStep,
  runLoad,
  runStepAtRate,
  runStepLoad,
  send,
} from '../load';
import { type BenchProcess, cpuTimeMs, freePort, rssMb, startOurGateway, startProcess } from '../processes';

// Our gateway, stock @apollo/gateway and Hive Gateway over the same composed supergraph and the same running
// subgraphs (each gateway its own process, so its CPU time is its own), then again with the subgraphs replaced
// by a server replaying their recorded answers (gateway-bound mode). With the real subgraphs every subject is
// measured twice: saturated (closed loop, 20 connections) and at one fixed rate well below saturation, where
// latency is the path's own and not queueing.

const root = fileURLToPath(new URL('../../..', import.meta.url));
const servers = fileURLToPath(new URL('../servers/', import.meta.url));
const customer = { email: 'test@example.com', password: 'password123' };
const address = { street: '1 Main St', city: 'Springfield', state: 'IL', zipCode: '62701', country: 'US' };

interface GatewayKind {
  /** Subject name in the table. */
  label: string;
  start: (
    supergraphPath: string,
    port: number,
    publicKeyPem: string,
    options: BenchOptions,
  ) => Promise<BenchProcess>;
}

function withoutSecurityPurpose(supergraphSdl: string): string {
  return supergraphSdl.replace(
    /(@link\(url: "https:\/\/specs\.apollo\.dev\/(?:authenticated|requiresScopes)\/v[\d.]+"), for: SECURITY\)/g,
    '$1)',
  );
}

const allGatewayKinds: GatewayKind[] = [
  {
    label: 'ours',
    start: (supergraphPath, _port, publicKeyPem, options) =>
      startOurGateway({
        supergraphPath,
        publicKeyPem,
        profileDir: options.profile ? join(root, 'bench/results/profiles') : undefined,
      }),
  },
  {
    label: 'stock @apollo/gateway',
    start: (supergraphPath, port) =>
      startProcess('stock @apollo/gateway', join(servers, 'stock-apollo-gateway.ts'), {
        NODE_ENV: 'production',
        SUPERGRAPH_PATH: supergraphPath,
        PORT: String(port),
      }),
  },
  {
    label: 'Hive Gateway',
    start: (supergraphPath, port) =>
      startProcess('Hive Gateway', join(servers, 'hive-gateway.ts'), {
        NODE_ENV: 'production',
        SUPERGRAPH_PATH: supergraphPath,
        PORT: String(port),
      }),
  },
];

// BENCH_GATEWAYS=ours,Hive (labels' first words) and BENCH_MODES=real|bound narrow a run while profiling.
const gatewayKinds = allGatewayKinds.filter(
  (kind) =>
    !process.env.BENCH_GATEWAYS ||
    process.env.BENCH_GATEWAYS.split(',').some((name) =>
      kind.label.toLowerCase().startsWith(name.trim().toLowerCase()),
    ),
);
const modes = (process.env.BENCH_MODES ?? 'real,bound').split(',');

interface Query {
  label: string;
  request: GraphQLRequest;
  /** The verified `data` every gateway must answer with. */
  expected: unknown;
  /** The owning subgraph hit directly with the part it serves itself (real mode only). */
  direct: { subgraph: string; request: GraphQLRequest; expected: unknown };
  /** The row's label when `direct` is only part of the query's subgraph work (another baseline is then used). */
  directLabel?: string;
}

const PRODUCTS = `query Products { products(first: 20) { totalCount edges { node { id name sku price { amount currency } } } } }`;
const ME = `query Me { me { id email name role } }`;
const ORDER_OWN = `query Order($id: ID!) { order(id: $id) { id status total { amount currency } items { quantity unitPrice { amount currency } product { id } } user { id } } }`;
const DEEP = `query Deep($id: ID!) { order(id: $id) { id status total { amount currency } user { id email } items { quantity unitPrice { amount currency } product { id name price { amount currency } inventory { availableQuantity reservedQuantity } } } payment { status amount { amount currency } } } }`;

// biome-ignore lint/suspicious/noExplicitAny: answers of many shapes, each checked by deep equality against a verified one
type Data = Record<string, any>;

async function dataOf(url: string, request: GraphQLRequest): Promise<Data> {
  const answer = await send(url, request);
  const body = answer.body as { data?: Data; errors?: unknown };
  if (answer.status !== 200 || body.errors || !body.data) {
    throw new Error(`${url}: ${JSON.stringify(answer.body).slice(0, 800)}`);
  }
  return body.data;
}

async function waitUntil<T>(
  what: string,
  probeOnce: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probeOnce();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Creates the data the queries read (through a gateway, as a client would) and builds each query's verified
 * answer from the owning subgraphs asked directly, never from a gateway.
 */
async function prepareQueries(gatewayUrl: string, subgraphs: Record<string, string>): Promise<Query[]> {
  const url = (name: string) => {
    const found = subgraphs[name];
    if (!found) throw new Error(`subgraph ${name} is not running`);
    return found;
  };
  const login = await dataOf(gatewayUrl, {
    query:
      'mutation L($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }',
    variables: customer,
  });
  const token = login.login.accessToken as string;
  const products = (await dataOf(url('products'), { query: PRODUCTS })).products.edges.map(
    (edge: { node: { id: string } }) => edge.node.id,
  ) as string[];
  if (products.length < 3) throw new Error('the products seed has fewer than 3 products');
  const placed = await dataOf(gatewayUrl, {
    query: 'mutation P($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }',
    variables: {
      input: {
        items: products.slice(0, 3).map((productId, i) => ({ productId, quantity: i + 1 })),
        shippingAddress: address,
      },
    },
    token,
  });
  const orderId = placed.placeOrder.id as string;
  // The payment appears when payments consumes order.placed; the stock reservation when inventory does.
  await waitUntil('the order payment', async () => {
    const data = await dataOf(url('payments'), {
      query: 'query P($id: ID!) { paymentByOrder(orderId: $id) { id } }',
      variables: { id: orderId },
      token,
    });
    return data.paymentByOrder ?? undefined;
  });
  await waitUntil('the stock reservation', async () => {
    const data = await dataOf(url('orders'), {
      query: 'query O($id: ID!) { order(id: $id) { stockReserved } }',
      variables: { id: orderId },
      token,
    });
    return data.order?.stockReserved ? true : undefined;
  });

  const own = (await dataOf(url('orders'), { query: ORDER_OWN, variables: { id: orderId }, token })).order;
  const me = (await dataOf(url('users'), { query: 'query { me { id email } }', token })).me;
  const payment = (
    await dataOf(url('payments'), {
      query: 'query P($id: ID!) { paymentByOrder(orderId: $id) { status amount { amount currency } } }',
      variables: { id: orderId },
      token,
    })
  ).paymentByOrder;
  const items = [];
  for (const item of own.items as { quantity: number; unitPrice: unknown; product: { id: string } }[]) {
    const product = (
      await dataOf(url('products'), {
        query: 'query P($id: ID!) { product(id: $id) { id name price { amount currency } } }',
        variables: { id: item.product.id },
      })
    ).product;
    const inventory = (
      await dataOf(url('inventory'), {
        query:
          'query I($id: ID!) { inventoryByProduct(productId: $id) { availableQuantity reservedQuantity } }',
        variables: { id: item.product.id },
        token,
      })
    ).inventoryByProduct;
    items.push({ quantity: item.quantity, unitPrice: item.unitPrice, product: { ...product, inventory } });
  }
  if (own.user.id !== me.id) throw new Error('the order is not the customer’s');
  const deepExpected = {
    order: { id: own.id, status: own.status, total: own.total, user: me, items, payment },
  };
  const productsExpected = await dataOf(url('products'), { query: PRODUCTS });
  const meExpected = await dataOf(url('users'), { query: ME, token });
  if (meExpected.me?.email !== customer.email) throw new Error('me is not the demo customer');
  const deepRequest = { query: DEEP, variables: { id: orderId }, token };
  const ownRequest = { query: ORDER_OWN, variables: { id: orderId }, token };
  return [
    {
      label: 'products(first: 20) with Money',
      request: { query: PRODUCTS },
      expected: productsExpected,
      direct: { subgraph: 'products', request: { query: PRODUCTS }, expected: productsExpected },
    },
    {
      label: 'me (bearer token)',
      request: { query: ME, token },
      expected: meExpected,
      direct: { subgraph: 'users', request: { query: ME, token }, expected: meExpected },
    },
    {
      label: 'order → items → product → inventory, payment, user',
      request: deepRequest,
      expected: deepExpected,
      direct: { subgraph: 'orders', request: ownRequest, expected: { order: own } },
      directLabel: 'subgraph direct (orders only: its own part)',
    },
  ];
}

interface Subject {
  label: string;
  /** Fails unless the subject answers right; run before and after its load. */
  verify: (when: string) => Promise<void>;
  /**
   * `seconds` of load whose every answer must be byte for byte the verified one (else it counts as an error):
   * closed loop at `connections` when `ratePerSecond` is absent, else that many requests a second, evenly spaced.
   */
  load: (
    seconds: number,
    pace: { connections: number; ratePerSecond?: number | undefined },
  ) => Promise<LoadResult>;
  /** The process whose CPU and memory are its own (absent: not measured). */
  pid?: number;
}

/** A gateway (or one subgraph) asked `request`, which must answer `{ data: expected }`. */
/** One subject per running gateway (in `gatewayKinds` order) asked the query. */
function gatewaySubjects(gateways: { process: BenchProcess; url: string }[], query: Query): Subject[] {
  return gateways.map((gateway, i) =>
    requestSubject(
      gatewayKinds[i]?.label as string,
      gateway.url,
      query.request,
      query.expected,
      gateway.process.pid,
    ),
  );
}

function requestSubject(
  label: string,
  url: string,
  request: GraphQLRequest,
  expected: unknown,
  pid: number | undefined,
): Subject {
  let verifiedText: string | undefined;
  return {
    label,
    ...(pid ? { pid } : {}),
    verify: async (when) => {
      verifiedText = await expectAnswer(`${label} ${when}`, url, request, expected);
    },
    load: (seconds, pace) =>
      pace.ratePerSecond === undefined
        ? runLoad(url, request, { connections: pace.connections, seconds, expectBody: verifiedText })
        : runStepAtRate(
            { kind: 'fetch', call: callOf(url, request, verifiedText ?? '') },
            { ratePerSecond: pace.ratePerSecond, seconds },
          ),
  };
}

/** The load generator itself sending a query plan's subgraph fetches, each answer the recorded one. */
function planSubject(label: string, plan: PlanStep, pid: number | undefined): Subject {
  return {
    label,
    ...(pid ? { pid } : {}),
    verify: async (when) => {
      const once = await runStepAtRate(plan, { ratePerSecond: 1, seconds: 1 });
      if (once.errors > 0) throw new Error(`${label} ${when}: a subgraph answered other than recorded`);
    },
    load: (seconds, pace) =>
      pace.ratePerSecond === undefined
        ? runStepLoad(plan, { connections: pace.connections, seconds })
        : runStepAtRate(plan, { ratePerSecond: pace.ratePerSecond, seconds }),
  };
}

/**
 * Alternating rounds: every subject once per round, the order rotating; medians over rounds. Closed loop at
 * `options.connections` (saturating), or `ratePerSecond` requests a second when given.
 */
async function measure(
  group: string,
  subjects: Subject[],
  options: BenchOptions,
  ratePerSecond?: number,
): Promise<BenchRow[]> {
  const samples = new Map<
    string,
    { rps: number; p50: number; p99: number; cpu?: number; errors: number }[]
  >();
  for (const subject of subjects) {
    await subject.verify(`(${group})`);
    samples.set(subject.label, []);
  }
  const pace = { connections: options.connections, ratePerSecond };
  for (let round = 0; round < options.rounds; round++) {
    const order = subjects.map((_, i) => subjects[(i + round) % subjects.length] as Subject);
    for (const subject of order) {
      // Warm-up (JIT, pools, caches), not counted; at a fixed rate the saturated rounds warmed everything.
      await subject.load(round === 0 && ratePerSecond === undefined ? 3 : 1, pace);
      // CPU per request only when saturated: at a low fixed rate the processes' idle work (timers, consumers)
      // would be divided among few requests.
      const cpuPid = ratePerSecond === undefined ? subject.pid : undefined;
      const cpuBefore = cpuPid ? cpuTimeMs(cpuPid) : 0;
      const generatorBefore = process.cpuUsage();
      const result = await subject.load(options.seconds, pace);
      const generatorUsage = process.cpuUsage(generatorBefore);
      const generatorCpu =
        (generatorUsage.user + generatorUsage.system) / 1000 / Math.max(1, result.requests);
      const cpu = cpuPid ? (cpuTimeMs(cpuPid) - cpuBefore) / Math.max(1, result.requests) : undefined;
      samples.get(subject.label)?.push({
        rps: result.requestsPerSecond,
        p50: result.p50Ms,
        p99: result.p99Ms,
        ...(cpu === undefined ? {} : { cpu }),
        errors: result.errors,
      });
      options.log(
        `  ${group} · ${subject.label}: ${result.requestsPerSecond.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms${cpu === undefined ? '' : `, ${cpu.toFixed(2)} ms CPU/req`}, load generator ${generatorCpu.toFixed(2)} ms CPU/req${result.errors ? `, ${result.errors} ERRORS` : ''}`,
      );
    }
  }
  const rows: BenchRow[] = [];
  for (const subject of subjects) {
    // Still right after being loaded: a gateway that starts failing under load must not win.
    await subject.verify(`after load (${group})`);
    const runs = samples.get(subject.label) ?? [];
    const cpus = runs.flatMap((run) => (run.cpu === undefined ? [] : [run.cpu]));
    rows.push({
      group,
      subject: subject.label,
      requestsPerSecond: median(runs.map((run) => run.rps)),
      p50Ms: median(runs.map((run) => run.p50)),
      p99Ms: median(runs.map((run) => run.p99)),
      ...(cpus.length ? { cpuMsPerRequest: median(cpus) } : {}),
      ...(subject.pid ? { rssMb: rssMb(subject.pid) } : {}),
      errors: runs.reduce((sum, run) => sum + run.errors, 0),
      rounds: runs.map((run) => Math.round(run.rps)),
    });
  }
  return rows;
}

// The query planner of the @apollo/gateway copy the bench loads (the version ours pins too): the deep query's
// plan, whose fetches the load generator then sends itself as that query's direct baseline.
const requireFromGateway = createRequire(createRequire(import.meta.url).resolve('@apollo/gateway'));
const federation = requireFromGateway('@apollo/federation-internals') as {
  Supergraph: { build(sdl: string): { apiSchema(): unknown } };
  operationFromDocument(schema: unknown, document: unknown, options: { operationName?: string }): unknown;
};
const { QueryPlanner } = requireFromGateway('@apollo/query-planner') as {
  QueryPlanner: new (supergraph: unknown) => { buildQueryPlan(operation: unknown): { node?: PlanNode } };
};

type PlanNode =
  | { kind: 'Fetch'; serviceName: string; operation: string }
  | { kind: 'Flatten'; node: PlanNode }
  | { kind: 'Sequence' | 'Parallel'; nodes: PlanNode[] }
  | { kind: string };

/** One subgraph request a gateway sent, with the answer it got (the replay server's `GET /__recorded`). */
interface RecordedFetch {
  subgraph: string;
  body: string;
  status: number;
  answer: string;
}

function queryPlanOf(supergraphSdl: string, query: string): PlanNode | undefined {
  const supergraph = federation.Supergraph.build(withoutSecurityPurpose(supergraphSdl));
  const operation = federation.operationFromDocument(supergraph.apiSchema(), parse(query), {});
  return new QueryPlanner(supergraph).buildQueryPlan(operation).node;
}

/**
 * The plan as the load generator's steps: each Fetch becomes the very request our gateway sent for it (found
 * among `recorded` by subgraph and operation text; its body carries the representations the earlier fetches
 * answered), sent to the real subgraph with the client's token, as our gateway forwards it, and checked against
 * the answer recorded for it.
 */
function planSteps(
  node: PlanNode,
  recorded: RecordedFetch[],
  subgraphs: Record<string, string>,
  token: string | undefined,
): PlanStep {
  if (node.kind === 'Flatten')
    return planSteps((node as { node: PlanNode }).node, recorded, subgraphs, token);
  if (node.kind === 'Sequence' || node.kind === 'Parallel') {
    return {
      kind: node.kind === 'Sequence' ? 'sequence' : 'parallel',
      steps: (node as { nodes: PlanNode[] }).nodes.map((inner) =>
        planSteps(inner, recorded, subgraphs, token),
      ),
    };
  }
  if (node.kind !== 'Fetch')
    throw new Error(`a ${node.kind} node in the plan: the bench replays only fetches`);
  const fetch = node as { serviceName: string; operation: string };
  const sent = recorded.filter(
    (r) =>
      r.subgraph === fetch.serviceName &&
      (JSON.parse(r.body) as { query?: string }).query === fetch.operation,
  );
  const url = subgraphs[fetch.serviceName];
  if (sent.length !== 1 || !url || sent[0]?.status !== 200) {
    throw new Error(
      `our gateway sent ${sent.length} requests (not one, answered 200) for the plan's fetch from ${fetch.serviceName}: ${fetch.operation}`,
    );
  }
  const call: Call = {
    url,
    headers: headersOf(token),
    body: sent[0].body,
    expectText: sent[0].answer,
  };
  return { kind: 'fetch', call };
}

function fetchesIn(step: PlanStep): number {
  return step.kind === 'fetch' ? 1 : step.steps.reduce((sum, inner) => sum + fetchesIn(inner), 0);
}

/** The fixed rate every subject of a query sustains well below saturation: ~40 % of the slowest's req/s. */
function fixedRateOf(saturated: BenchRow[]): number {
  const slowest = Math.min(...saturated.map((row) => row.requestsPerSecond));
  const rate = 0.4 * slowest;
  const step = rate >= 100 ? 10 : 5;
  return Math.max(step, Math.floor(rate / step) * step);
}

/** Our gateway is not published: its version is the commit it runs from ("+ changes" when the tree differs). */
function oursVersion(): string {
  let commit = 'not a git checkout';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const changed = execFileSync('git', ['status', '--porcelain', '--', 'gateway', 'packages'], {
      cwd: root,
      encoding: 'utf8',
    }).trim();
    if (changed) commit += ' + changes';
  } catch {
    // Not a git checkout (an unpacked archive): said so.
  }
  return `git ${commit}`;
}

function versionOf(pkg: string): string {
  const path = join(root, 'bench/node_modules', pkg, 'package.json');
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : Number.NaN);

const directLabelOf = (query: Query) => query.directLabel ?? `subgraph direct (${query.direct.subgraph})`;

function targetsOf(
  rows: BenchRow[],
  queries: Query[],
  baselines: Map<Query, string>,
  fixedRates: Map<Query, number>,
  options: BenchOptions,
): TargetCheck[] {
  const targets: TargetCheck[] = [];
  const find = (group: string, subject: string) =>
    rows.find((r) => r.group === group && r.subject === subject);
  for (const query of queries) {
    const replay = `gateway-bound · ${query.label}`;
    const ours = find(replay, 'ours');
    const hive = find(replay, 'Hive Gateway');
    const stock = find(replay, 'stock @apollo/gateway');
    if (ours && hive && stock) {
      const vsHive = ratio(ours.requestsPerSecond, hive.requestsPerSecond);
      const vsStock = ratio(ours.requestsPerSecond, stock.requestsPerSecond);
      targets.push(
        {
          target: `${replay}: req/s ≥ 2× Hive`,
          measured: `${vsHive.toFixed(2)}×`,
          met: vsHive >= 2 && ours.errors === 0,
        },
        {
          target: `${replay}: req/s ≥ 4× stock`,
          measured: `${vsStock.toFixed(2)}×`,
          met: vsStock >= 4 && ours.errors === 0,
        },
      );
    }
    const real = `real · ${query.label}`;
    const oursReal = find(real, 'ours');
    const hiveReal = find(real, 'Hive Gateway');
    const stockReal = find(real, 'stock @apollo/gateway');
    const baseline = baselines.get(query);
    const direct = rows.find((r) => r.group === real && r.subject === baseline);
    if (oursReal?.cpuMsPerRequest && hiveReal?.cpuMsPerRequest && stockReal?.cpuMsPerRequest) {
      const vsHive = ratio(oursReal.cpuMsPerRequest, hiveReal.cpuMsPerRequest);
      const vsStock = ratio(oursReal.cpuMsPerRequest, stockReal.cpuMsPerRequest);
      targets.push(
        {
          target: `${real}: CPU/req ≤ ½ Hive's`,
          measured: `${vsHive.toFixed(2)}× Hive's`,
          met: vsHive <= 0.5,
        },
        {
          target: `${real}: CPU/req ≤ ¼ stock's`,
          measured: `${vsStock.toFixed(2)}× stock's`,
          met: vsStock <= 0.25,
        },
      );
    }
    if (oursReal && direct) {
      const share = ratio(oursReal.requestsPerSecond, direct.requestsPerSecond);
      const added = oursReal.p50Ms - direct.p50Ms;
      const against = baseline === directLabelOf(query) ? 'the direct call' : `${direct.subject}`;
      targets.push(
        {
          target: `${real}: req/s ≥ 90 % of ${against}`,
          measured: `${(share * 100).toFixed(0)} %`,
          met: share >= 0.9,
        },
        {
          target: `${real}: added p50 at saturation (${options.connections} connections) ≤ 2 ms`,
          measured: `${added.toFixed(1)} ms`,
          met: added <= 2,
        },
      );
    }
    const rate = fixedRates.get(query);
    const atRate = `real at ${rate} req/s · ${query.label}`;
    const oursAtRate = find(atRate, 'ours');
    const directAtRate = rows.find((r) => r.group === atRate && r.subject === baseline);
    if (oursAtRate && directAtRate) {
      const added = oursAtRate.p50Ms - directAtRate.p50Ms;
      targets.push({
        target: `${real}: added p50 at ${rate} req/s ≤ 2 ms`,
        measured: `${added.toFixed(1)} ms (${oursAtRate.p50Ms.toFixed(1)} − ${directAtRate.p50Ms.toFixed(1)})`,
        met: added <= 2 && oursAtRate.errors === 0,
      });
    }
  }
  return targets;
}

export const gatewaysScenario: BenchScenario = {
  name: 'gateways',
  description:
    'ours vs stock @apollo/gateway vs Hive Gateway (in-flight de-duplication off) on three queries, with the real subgraphs and gateway-bound (recorded answers replayed)',
  run: async (options) => {
    const started: BenchProcess[] = [];
    const stopAll = async (processes: BenchProcess[]) => {
      await Promise.all(processes.map((p) => p.stop().catch(() => {})));
    };
    const workDir = mkdtempSync(join(tmpdir(), 'shop-bench-'));
    try {
      options.log('starting the subgraphs (fresh databases, demo seed)…');
      const subgraphsProcess = await startProcess('subgraphs', join(servers, 'subgraphs.ts'), {
        TEST_LOG_LEVEL: 'silent',
      });
      started.push(subgraphsProcess);
      const { urls, publicKeyPem } = subgraphsProcess.ready as {
        urls: Record<string, string>;
        publicKeyPem: string;
      };

      const startGateways = async (supergraphSdl: string, name: string) => {
        const path = join(workDir, `${name}.graphql`);
        writeFileSync(path, supergraphSdl);
        // Stock @apollo/gateway refuses to load a supergraph linking @authenticated/@requiresScopes `for: SECURITY`
        // (only GraphOS Router enforces them); the other two get it without that purpose, and enforce nothing of
        // it, while ours enforces both (see gateway/src/authorization.ts).
        const plainPath = join(workDir, `${name}-plain.graphql`);
        writeFileSync(plainPath, withoutSecurityPurpose(supergraphSdl));
        const running: { process: BenchProcess; url: string }[] = [];
        try {
          for (const kind of gatewayKinds) {
            const port = await freePort();
            const process = await kind.start(
              kind.label === 'ours' ? path : plainPath,
              port,
              publicKeyPem,
              options,
            );
            const url =
              typeof process.ready.url === 'string' ? process.ready.url : `http://127.0.0.1:${port}/graphql`;
            running.push({ process, url });
          }
        } catch (error) {
          await stopAll(running.map((r) => r.process));
          throw error;
        }
        started.push(...running.map((r) => r.process));
        return running;
      };

      // Real subgraphs.
      const realSupergraphSdl = (await composeSupergraph(urls)).supergraphSdl;
      const real = await startGateways(realSupergraphSdl, 'real');
      options.log('creating the data (an order of three products, its payment) through our gateway…');
      const queries = await prepareQueries(real[0]?.url as string, urls);

      // The replay server, recording for now: first the subgraph requests our gateway sends for each query, so
      // that the load generator can send a multi-fetch plan's requests itself (that query's direct baseline).
      const replayPort = await freePort();
      const replay = await startProcess('replay', join(servers, 'replay.ts'), {
        TARGETS: JSON.stringify(urls),
        PORT: String(replayPort),
      });
      started.push(replay);
      const replayUrls = Object.fromEntries(
        Object.keys(urls).map((name) => [name, `http://127.0.0.1:${replayPort}/${name}/graphql`]),
      );
      const replaySupergraphSdl = (await composeSupergraph(replayUrls)).supergraphSdl;
      const recordingPath = join(workDir, 'recording.graphql');
      writeFileSync(recordingPath, replaySupergraphSdl);
      // (METRICS_PORT 0: the real-mode ours, still running, holds the default metrics port.)
      const recorder = await startOurGateway({
        supergraphPath: recordingPath,
        publicKeyPem,
        env: { METRICS_PORT: '0' },
      });
      try {
        for (const query of queries) {
          await expectAnswer('ours (recording its fetches)', recorder.url, query.request, query.expected);
        }
      } finally {
        await recorder.stop();
      }
      const recorded = (await (
        await fetch(`http://127.0.0.1:${replayPort}/__recorded`)
      ).json()) as RecordedFetch[];
      const plans = new Map<Query, { label: string; steps: PlanStep }>();
      for (const query of queries) {
        const node = queryPlanOf(realSupergraphSdl, query.request.query);
        const steps = node && planSteps(node, recorded, urls, query.request.token);
        if (steps && fetchesIn(steps) > 1) {
          plans.set(query, { label: `subgraph direct (the plan's ${fetchesIn(steps)} fetches)`, steps });
        }
      }
      const baselines = new Map(
        queries.map((query) => [query, plans.get(query)?.label ?? directLabelOf(query)]),
      );

      const rows: BenchRow[] = [];
      const realSubjects = (query: Query, withDirect: boolean): Subject[] => {
        const subjects = gatewaySubjects(real, query);
        if (withDirect) {
          subjects.push(
            requestSubject(
              directLabelOf(query),
              urls[query.direct.subgraph] as string,
              query.direct.request,
              query.direct.expected,
              subgraphsProcess.pid,
            ),
          );
        }
        const plan = plans.get(query);
        if (plan) subjects.push(planSubject(plan.label, plan.steps, subgraphsProcess.pid));
        return subjects;
      };
      for (const query of modes.includes('real') ? queries : []) {
        options.log(`real subgraphs · ${query.label}`);
        rows.push(...(await measure(`real · ${query.label}`, realSubjects(query, true), options)));
      }
      // The same paths at one fixed rate each query's slowest subject sustains well below saturation: latency
      // without queueing, i.e. what the gateway itself adds (the multi-fetch query against its plan's fetches).
      const fixedRates = new Map<Query, number>();
      for (const query of modes.includes('real') ? queries : []) {
        const rate = fixedRateOf(rows.filter((row) => row.group === `real · ${query.label}`));
        fixedRates.set(query, rate);
        options.log(
          `real subgraphs at ${rate} req/s (~40 % of the slowest's saturated req/s) · ${query.label}`,
        );
        rows.push(
          ...(await measure(
            `real at ${rate} req/s · ${query.label}`,
            realSubjects(query, !plans.has(query)),
            options,
            rate,
          )),
        );
      }
      await stopAll(real.map((r) => r.process));

      // Gateway-bound: the subgraphs replaced by recorded answers.
      const bound = await startGateways(replaySupergraphSdl, 'replay');
      // Record: every gateway's subgraph requests for every query, forwarded once to the real subgraphs.
      for (const query of queries) {
        for (const [i, gateway] of bound.entries()) {
          await expectAnswer(
            `${gatewayKinds[i]?.label} recording`,
            gateway.url,
            query.request,
            query.expected,
          );
        }
      }
      await fetch(`http://127.0.0.1:${replayPort}/__replay`, { method: 'POST' });
      for (const query of modes.includes('bound') ? queries : []) {
        options.log(`gateway-bound · ${query.label}`);
        const subjects = gatewaySubjects(bound, query);
        rows.push(...(await measure(`gateway-bound · ${query.label}`, subjects, options)));
      }
      const stats = (await (await fetch(`http://127.0.0.1:${replayPort}/__stats`)).json()) as {
        misses: number;
      };
      if (stats.misses > 0) throw new Error(`the replay server missed ${stats.misses} subgraph requests`);

      return {
        rows,
        targets: targetsOf(rows, queries, baselines, fixedRates, options),
        versions: {
          'ours (@shop/gateway)': oursVersion(),
          '@apollo/gateway': versionOf('@apollo/gateway'),
          '@apollo/server': versionOf('@apollo/server'),
          '@graphql-hive/gateway': versionOf('@graphql-hive/gateway'),
          autocannon: versionOf('autocannon'),
        },
        notes: [
          'Hive Gateway runs with in-flight request de-duplication OFF (inbound and to subgraphs), so every gateway does the same subgraph work per request.',
          'CPU ms/req is the process’s own user+system time (/proc/<pid>/stat) over the timed window divided by the requests answered; for "subgraph direct" it is the process running all seven subgraphs.',
          'subgraph direct: the owning subgraph asked the part of the query it serves itself (for the deep query, the orders subgraph’s own fields only).',
          'subgraph direct (the plan’s N fetches): the load generator sends the subgraph requests our gateway sends for the query (recorded bodies, the plan’s order: sequence steps one after another, parallel ones at once), 20 concurrent loops, every answer checked byte for byte against the recorded one; the deep query’s 90 % and added-p50 targets use it.',
          'real at N req/s: every subject sent N requests a second, evenly spaced (open loop, bench’s own node:http generator, latency in fractions of a ms), N ≈ 40 % of the query’s slowest saturated req/s; p50/p99 medians of the rounds.',
          'gateway-bound: subgraph answers replayed per (subgraph, request body) by one small node:http server; every gateway answer still checked against the verified one.',
        ],
      };
    } finally {
      await stopAll(started.reverse());
      rmSync(workDir, { recursive: true, force: true });
    }
  },
};
