import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { composeSupergraph } from '../../../gateway/src/compose';
import { type BenchOptions, type BenchRow, type BenchScenario, median, type TargetCheck } from '../harness';
import { expectAnswer, type GraphQLRequest, runLoad, send } from '../load';
import { type BenchProcess, cpuTimeMs, freePort, rssMb, startOurGateway, startProcess } from '../processes';

// Our gateway, stock @apollo/gateway and Hive Gateway over the same composed supergraph and the same running
// subgraphs (each gateway its own process, so its CPU time is its own), then again with the subgraphs replaced
// by a server replaying their recorded answers (gateway-bound mode).

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
    },
  ];
}

interface Subject {
  label: string;
  url: string;
  request: GraphQLRequest;
  expected: unknown;
  /** The process whose CPU and memory are its own (absent: not measured). */
  pid?: number;
}

/** Alternating rounds: every subject once per round, the order rotating; medians over rounds. */
async function measure(group: string, subjects: Subject[], options: BenchOptions): Promise<BenchRow[]> {
  const samples = new Map<
    string,
    { rps: number; p50: number; p99: number; cpu?: number; errors: number }[]
  >();
  const verifiedText = new Map<string, string>();
  for (const subject of subjects) {
    verifiedText.set(
      subject.label,
      await expectAnswer(`${subject.label} (${group})`, subject.url, subject.request, subject.expected),
    );
    samples.set(subject.label, []);
  }
  for (let round = 0; round < options.rounds; round++) {
    const order = subjects.map((_, i) => subjects[(i + round) % subjects.length] as Subject);
    for (const subject of order) {
      // Every answer under load must be byte for byte the verified one (else it counts as an error).
      const load = {
        connections: options.connections,
        seconds: round === 0 ? 3 : 1,
        expectBody: verifiedText.get(subject.label),
      };
      await runLoad(subject.url, subject.request, load); // warm-up (JIT, pools, caches), not counted
      const cpuBefore = subject.pid ? cpuTimeMs(subject.pid) : 0;
      const result = await runLoad(subject.url, subject.request, { ...load, seconds: options.seconds });
      const cpu = subject.pid
        ? (cpuTimeMs(subject.pid) - cpuBefore) / Math.max(1, result.requests)
        : undefined;
      samples.get(subject.label)?.push({
        rps: result.requestsPerSecond,
        p50: result.p50Ms,
        p99: result.p99Ms,
        ...(cpu === undefined ? {} : { cpu }),
        errors: result.errors,
      });
      options.log(
        `  ${group} · ${subject.label}: ${result.requestsPerSecond.toFixed(0)} req/s, p50 ${result.p50Ms} ms${cpu === undefined ? '' : `, ${cpu.toFixed(2)} ms CPU/req`}${result.errors ? `, ${result.errors} ERRORS` : ''}`,
      );
    }
  }
  const rows: BenchRow[] = [];
  for (const subject of subjects) {
    // Still right after being loaded: a gateway that starts failing under load must not win.
    await expectAnswer(
      `${subject.label} after load (${group})`,
      subject.url,
      subject.request,
      subject.expected,
    );
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

function versionOf(pkg: string): string {
  const path = join(root, 'bench/node_modules', pkg, 'package.json');
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : Number.NaN);

function targetsOf(rows: BenchRow[], queries: Query[]): TargetCheck[] {
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
    const direct = rows.find((r) => r.group === real && r.subject.startsWith('subgraph direct'));
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
      targets.push(
        {
          target: `${real}: req/s ≥ 90 % of the direct call`,
          measured: `${(share * 100).toFixed(0)} %`,
          met: share >= 0.9,
        },
        { target: `${real}: added p50 ≤ 2 ms`, measured: `${added.toFixed(1)} ms`, met: added <= 2 },
      );
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
      const real = await startGateways((await composeSupergraph(urls)).supergraphSdl, 'real');
      options.log('creating the data (an order of three products, its payment) through our gateway…');
      const queries = await prepareQueries(real[0]?.url as string, urls);
      const rows: BenchRow[] = [];
      for (const query of modes.includes('real') ? queries : []) {
        options.log(`real subgraphs · ${query.label}`);
        const subjects: Subject[] = real.map((gateway, i) => ({
          label: gatewayKinds[i]?.label as string,
          url: gateway.url,
          request: query.request,
          expected: query.expected,
          pid: gateway.process.pid,
        }));
        subjects.push({
          label: `subgraph direct (${query.direct.subgraph})`,
          url: urls[query.direct.subgraph] as string,
          request: query.direct.request,
          expected: query.direct.expected,
          pid: subgraphsProcess.pid,
        });
        rows.push(...(await measure(`real · ${query.label}`, subjects, options)));
      }
      await stopAll(real.map((r) => r.process));

      // Gateway-bound: the subgraphs replaced by recorded answers.
      const replayPort = await freePort();
      const replay = await startProcess('replay', join(servers, 'replay.ts'), {
        TARGETS: JSON.stringify(urls),
        PORT: String(replayPort),
      });
      started.push(replay);
      const replayUrls = Object.fromEntries(
        Object.keys(urls).map((name) => [name, `http://127.0.0.1:${replayPort}/${name}/graphql`]),
      );
      const bound = await startGateways((await composeSupergraph(replayUrls)).supergraphSdl, 'replay');
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
        const subjects: Subject[] = bound.map((gateway, i) => ({
          label: gatewayKinds[i]?.label as string,
          url: gateway.url,
          request: query.request,
          expected: query.expected,
          pid: gateway.process.pid,
        }));
        rows.push(...(await measure(`gateway-bound · ${query.label}`, subjects, options)));
      }
      const stats = (await (await fetch(`http://127.0.0.1:${replayPort}/__stats`)).json()) as {
        misses: number;
      };
      if (stats.misses > 0) throw new Error(`the replay server missed ${stats.misses} subgraph requests`);

      return {
        rows,
        targets: targetsOf(rows, queries),
        versions: {
          '@apollo/gateway': versionOf('@apollo/gateway'),
          '@apollo/server': versionOf('@apollo/server'),
          '@graphql-hive/gateway': versionOf('@graphql-hive/gateway'),
          autocannon: versionOf('autocannon'),
        },
        notes: [
          'Hive Gateway runs with in-flight request de-duplication OFF (inbound and to subgraphs), so every gateway does the same subgraph work per request.',
          'CPU ms/req is the process’s own user+system time (/proc/<pid>/stat) over the timed window divided by the requests answered; for "subgraph direct" it is the process running all seven subgraphs.',
          'subgraph direct: the owning subgraph asked the part of the query it serves itself (for the deep query, the orders subgraph’s own fields).',
          'gateway-bound: subgraph answers replayed per (subgraph, request body) by one small node:http server; every gateway answer still checked against the verified one.',
        ],
      };
    } finally {
      await stopAll(started.reverse());
      rmSync(workDir, { recursive: true, force: true });
    }
  },
};
