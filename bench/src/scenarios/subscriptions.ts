import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { TokenIssuer, WebSocket } from '@shop/kit';
import { testTokenSettings } from '@shop/testing';
import { composeSupergraph } from '../../../gateway/src/compose';
import { demo } from '../../../gateway/test/supergraph';
import { type BenchRow, type BenchScenario, median, percentile, type TargetCheck } from '../harness';
import { dataOf } from '../load';
import { type BenchProcess, cpuTimeMs, rssMb, startOurGateway, startProcess } from '../processes';

// Subscription fan-out through our gateway: N admin clients (each its own websocket and token) subscribe to
// `lowStockAlerts` with product fields of another subgraph; an admin `adjustStock` through the gateway crosses the
// reorder level, the inventory subgraph's outbox relay publishes to Kafka, its feed hands the alert to the
// gateway, which hydrates it once (identical admin subscriptions share one upstream stream) and sends it to all N.

const graphql = (url: string, query: string, variables: Record<string, unknown>, token?: string) =>
  dataOf(url, { query, variables, ...(token ? { token } : {}) });

const _root = fileURLToPath(new URL('../../..', import.meta.url));
const servers = fileURLToPath(new URL('../servers/', import.meta.url));

const ALERTS = /* GraphQL */ `subscription { lowStockAlerts { availableQuantity inventoryItem { sku product { name price { amount } } } } }`;
/** Stock starts at 1000 with a reorder level of 500: taking `depth` > 500 away alerts with 1000 - depth left. */
const STOCK = 1000;
const WARM_UP_QUANTITY = 450;
const firstMeasuredQuantity = 400;

/** Subscriber counts measured, from `BENCH_SUBSCRIBERS` (comma-separated) or 1k / 5k / 10k. */
function subscriberCounts(): number[] {
  const raw = process.env.BENCH_SUBSCRIBERS;
  return raw ? raw.split(',').map((n) => Number(n.trim())) : [1000, 5000, 10_000];
}

/** What every subscriber received, by the alert's availableQuantity (which names the crossing). */
class Deliveries {
  /** When each crossing's mutation was sent (performance.now()). */
  readonly sentAt = new Map<number, number>();
  /** Per quantity: how many subscribers got it, and each one's latency from the mutation being sent. */
  readonly received = new Map<number, { count: number; latencies: number[] }>();
  /** Per subscriber: quantities received (to find doubles and gaps). */
  readonly perSubscriber: number[][] = [];
  errors = 0;

  record(subscriber: number, quantity: number, at: number): void {
    this.perSubscriber[subscriber]?.push(quantity);
    let entry = this.received.get(quantity);
    if (!entry) {
      entry = { count: 0, latencies: [] };
      this.received.set(quantity, entry);
    }
    entry.count += 1;
    const sent = this.sentAt.get(quantity);
    if (sent !== undefined) entry.latencies.push(at - sent);
  }

  countOf(quantity: number): number {
    return this.received.get(quantity)?.count ?? 0;
  }
}

/** One raw graphql-ws subscriber (lighter than a client library, so the load generator stays small). */
function openSubscriber(
  wsUrl: string,
  token: string,
  index: number,
  deliveries: Deliveries,
): Promise<WebSocket> {
  deliveries.perSubscriber[index] = [];
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
    let acknowledged = false;
    socket.on('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
    );
    socket.on('message', (data: Buffer) => {
      const at = performance.now();
      const text = data.toString();
      if (!acknowledged && text.includes('"connection_ack"')) {
        acknowledged = true;
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: ALERTS } }));
        resolve(socket);
        return;
      }
      const quantity = /"availableQuantity":(\d+)/.exec(text);
      if (text.includes('"next"') && quantity && !text.includes('"errors"')) {
        deliveries.record(index, Number(quantity[1]), at);
      } else if (!text.includes('"ping"') && !text.includes('"pong"')) {
        deliveries.errors += 1;
      }
    });
    socket.on('error', (error) => {
      if (!acknowledged) reject(error);
      else deliveries.errors += 1;
    });
    socket.on('close', (code) => {
      if (!acknowledged) reject(new Error(`closed ${code} before connection_ack`));
      else if (code !== 1000 && code !== 1005) deliveries.errors += 1;
    });
  });
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

export const subscriptionsScenario: BenchScenario = {
  name: 'subscriptions',
  description:
    'lowStockAlerts fan-out through our gateway to 1k / 5k / 10k websocket subscribers: adjustStock → client latency, gateway RSS and CPU',
  run: async (options) => {
    const started: BenchProcess[] = [];
    const workDir = mkdtempSync(join(tmpdir(), 'shop-bench-subs-'));
    const rows: BenchRow[] = [];
    const targets: TargetCheck[] = [];
    const notes: string[] = [];
    try {
      options.log('starting the subgraphs (fresh databases, demo seed)…');
      const subgraphs = await startProcess('subgraphs', join(servers, 'subgraphs.ts'), {
        TEST_LOG_LEVEL: 'silent',
      });
      started.push(subgraphs);
      const { urls, publicKeyPem, privateKeyPem } = subgraphs.ready as {
        urls: Record<string, string>;
        publicKeyPem: string;
        privateKeyPem: string;
      };
      const supergraphPath = join(workDir, 'supergraph.graphql');
      writeFileSync(supergraphPath, (await composeSupergraph(urls)).supergraphSdl);
      const issuer = await TokenIssuer.fromPem(privateKeyPem, {
        ...testTokenSettings,
        accessTokenTtlSeconds: 3600,
      });

      // A fresh gateway per subscriber count, so each RSS is that count's alone.
      const startGateway = async (maxSubscribers: number) => {
        const gateway = await startOurGateway({
          supergraphPath,
          publicKeyPem,
          env: { SUBSCRIPTIONS_MAX: String(maxSubscribers + 100) },
        });
        started.push(gateway);
        return { gateway, url: gateway.url, wsUrl: gateway.url.replace(/^http/, 'ws') };
      };

      const events = Math.max(10, options.rounds * 5);
      for (const count of subscriberCounts()) {
        const { gateway, url, wsUrl } = await startGateway(count);
        const idleRss = rssMb(gateway.pid);
        const login = await graphql(
          url,
          'mutation L($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }',
          demo.admin,
        );
        const admin = login.login?.accessToken as string;
        const product = await graphql(
          url,
          'mutation P($input: CreateProductInput!) { createProduct(input: $input) { id } }',
          {
            input: { name: `Bench fan-out ${count}`, sku: `BENCH-SUB-${count}-${Date.now()}`, price: '9.99' },
          },
          admin,
        );
        const item = await graphql(
          url,
          'mutation I($input: CreateInventoryInput!) { createInventory(input: $input) { id } }',
          {
            input: {
              productId: product.createProduct?.id,
              sku: `BENCH-INV-${count}-${Date.now()}`,
              availableQuantity: STOCK,
              reorderLevel: 500,
              reorderQuantity: 100,
            },
          },
          admin,
        );
        const inventoryId = item.createInventory?.id as string;
        const adjust = (quantity: number, type: 'SALE' | 'RETURN') =>
          graphql(
            url,
            'mutation A($id: ID!, $input: AdjustStockInput!) { adjustStock(inventoryId: $id, input: $input) { id } }',
            { id: inventoryId, input: { quantity, type } },
            admin,
          );
        /** Takes the item to `left` (an alert) and back to STOCK (re-armed). */
        const cross = async (left: number, deliveries: Deliveries, awaitAll: number, timeoutMs = 15_000) => {
          deliveries.sentAt.set(left, performance.now());
          await adjust(-(STOCK - left), 'SALE');
          const complete = await waitUntil(() => deliveries.countOf(left) >= awaitAll, timeoutMs);
          await adjust(STOCK - left, 'RETURN');
          return complete;
        };

        options.log(`${count} subscribers: connecting…`);
        const deliveries = new Deliveries();
        const sockets: WebSocket[] = [];
        const connectStarted = performance.now();
        for (let batch = 0; batch < count; batch += 250) {
          const size = Math.min(250, count - batch);
          const opened = await Promise.all(
            Array.from({ length: size }, async (_, i) => {
              const token = await issuer.issueAccessToken({
                userId: `00000000-0000-4000-8000-${String(batch + i).padStart(12, '0')}`,
                role: 'ADMIN',
                email: `bench-admin-${batch + i}@example.com`,
              });
              return openSubscriber(wsUrl, token, batch + i, deliveries);
            }),
          );
          sockets.push(...opened);
        }
        const connectSeconds = (performance.now() - connectStarted) / 1000;
        // The subscriptions reach the shared upstream stream at moments the clients cannot see: cross until
        // every subscriber has had a warm-up alert.
        options.log(`${count} subscribers: connected in ${connectSeconds.toFixed(1)} s; warming up…`);
        const warmDeadline = Date.now() + 90_000;
        while (deliveries.countOf(WARM_UP_QUANTITY) < count && Date.now() < warmDeadline) {
          deliveries.received.delete(WARM_UP_QUANTITY);
          for (const list of deliveries.perSubscriber) list.length = 0;
          await cross(WARM_UP_QUANTITY, deliveries, count, 3000);
        }
        if (deliveries.countOf(WARM_UP_QUANTITY) < count) {
          throw new Error(
            `only ${deliveries.countOf(WARM_UP_QUANTITY)} of ${count} subscribers ever got an alert`,
          );
        }
        for (const list of deliveries.perSubscriber) list.length = 0;
        const errorsBefore = deliveries.errors;

        options.log(`${count} subscribers: ${events} measured alerts…`);
        const cpuBefore = cpuTimeMs(gateway.pid);
        const measureStarted = performance.now();
        const quantities: number[] = [];
        for (let i = 0; i < events; i += 1) {
          const left = firstMeasuredQuantity - i;
          quantities.push(left);
          await cross(left, deliveries, count);
        }
        const measureSeconds = (performance.now() - measureStarted) / 1000;
        const cpuMs = cpuTimeMs(gateway.pid) - cpuBefore;
        const rss = rssMb(gateway.pid);
        // Exactly once: every subscriber got each measured alert once, in order.
        let missingOrDoubled = 0;
        for (const got of deliveries.perSubscriber) {
          const measured = got.filter((q) => q <= firstMeasuredQuantity);
          if (measured.join() !== quantities.join()) missingOrDoubled += 1;
        }
        const latencies = quantities
          .flatMap((q) => deliveries.received.get(q)?.latencies ?? [])
          .sort((a, b) => a - b);
        const delivered = latencies.length;
        rows.push({
          group: 'subscriptions · lowStockAlerts',
          subject: `${count} subscribers`,
          requestsPerSecond: delivered / measureSeconds,
          p50Ms: percentile(latencies, 50),
          p99Ms: percentile(latencies, 99),
          cpuMsPerRequest: cpuMs / Math.max(1, delivered),
          rssMb: rss,
          errors: missingOrDoubled + (deliveries.errors - errorsBefore),
          rounds: quantities.map((q) => deliveries.countOf(q)),
        });
        notes.push(
          `${count} subscribers: connected in ${connectSeconds.toFixed(1)} s; gateway RSS ${idleRss.toFixed(0)} MB idle → ${rss.toFixed(0)} MB; ${delivered} of ${count * events} deliveries (median per alert ${median(quantities.map((q) => deliveries.countOf(q)))}); ${missingOrDoubled} subscribers with a missing or doubled alert; gateway CPU ${cpuMs.toFixed(0)} ms for ${events} alerts`,
        );
        if (count === 1000) {
          const p99 = percentile(latencies, 99);
          targets.push({
            target: 'p99 adjustStock → client ≤ 250 ms at 1k subscribers',
            measured: `${p99.toFixed(0)} ms`,
            met: p99 <= 250 && missingOrDoubled === 0,
          });
        }
        if (count === 10_000) {
          targets.push({
            target: 'gateway RSS < 300 MB with 10k subscribers',
            measured: `${rss.toFixed(0)} MB`,
            met: rss < 300 && missingOrDoubled === 0,
          });
        }
        for (const socket of sockets) socket.terminate();
        await gateway.stop();
        started.splice(started.indexOf(gateway), 1);
      }
      notes.push(
        'Latency runs from the moment the admin mutation is sent to the moment a subscriber reads the alert: the gateway request, the inventory write and outbox, the relay, Kafka, the feed, the gateway hydration (one per alert, shared by all admins) and the fan-out. It bounds the Kafka → client latency from above.',
        'The subscribers run in the bench process on the same two cores as the gateway, the subgraphs, Kafka and Postgres; their own reading adds to the latency at 10k. "req/s" is deliveries per second during the measured alerts; "CPU ms/req" is gateway CPU per delivery.',
      );
      return { rows, targets, notes };
    } finally {
      await Promise.all(started.map((p) => p.stop().catch(() => {})));
      rmSync(workDir, { recursive: true, force: true });
    }
  },
};
