import { ShopClient } from '@shop/client';
import {
  consumerGroupsOf,
  queryDatabase,
  type SubgraphProcess,
  type SubgraphProcesses,
  type SubgraphProcessesOptions,
  startSubgraphProcesses,
  testLogger,
} from '@shop/testing';
import { composeSupergraph } from '../src/compose';
import { type RunningGateway, startGateway } from '../src/gateway';

// The whole supergraph for fault drills: every subgraph its own process over its own Kafka broker and Redis
// (startSubgraphProcesses in the testkit), the real gateway in front of them in the test process.

export interface DrillStack extends SubgraphProcesses {
  gateway: RunningGateway;
  client: ShopClient;
}

export async function startDrillStack(options: SubgraphProcessesOptions = {}): Promise<DrillStack> {
  const processes = await startSubgraphProcesses(options);
  try {
    const { supergraphSdl } = await composeSupergraph(
      Object.fromEntries(Object.entries(processes.subgraphs).map(([name, s]) => [name, s.url])),
    );
    const gateway = await startGateway({
      supergraphSdl,
      port: 0,
      host: '127.0.0.1',
      tokenVerifier: processes.keys.verifier,
      logger: testLogger('drill-gateway'),
    });
    return {
      ...processes,
      gateway,
      client: new ShopClient(gateway.url),
      stop: async () => {
        await gateway.stop();
        await processes.stop();
      },
    };
  } catch (error) {
    await processes.stop();
    throw error;
  }
}

/** The sum of a Prometheus counter's series whose labels include `labels` (0 when it has none). */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.slice(name.length, line.lastIndexOf(' '));
    if (Object.entries(labels).every(([key, value]) => labelText.includes(`${key}="${value}"`)))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** How consumers fared, by `shop_events_consumed_total`'s outcome (handled, duplicate, retried, dead_lettered). */
export type ConsumedCounts = Record<string, number>;

const consumedOutcomes = ['handled', 'duplicate', 'retried', 'dead_lettered'] as const;

/**
 * The consumers' counters of every drill process across restarts: a process killed with SIGKILL takes its
 * counters with it, so each incarnation (by pid) is sampled while it lives and its last sample is kept; the
 * drill samples every process just before it kills one. `available` is false while no process serves the
 * counter (a build without /metrics).
 */
export class ConsumedCounter {
  private readonly last = new Map<string, ConsumedCounts>();
  available = false;

  constructor(private readonly stack: SubgraphProcesses) {}

  async sample(only?: SubgraphProcess): Promise<void> {
    const processes = only
      ? [only]
      : [...Object.values(this.stack.subgraphs), ...Object.values(this.stack.replicas)];
    await Promise.all(
      processes.map(async (process) => {
        const pid = process.pid();
        if (pid === undefined) return;
        let text: string;
        try {
          const response = await fetch(process.metricsUrl, { signal: AbortSignal.timeout(2000) });
          if (!response.ok) return;
          text = await response.text();
        } catch {
          return; // down right now (the drill's fault): its last sample stands
        }
        if (!text.includes('shop_events_consumed_total')) return;
        this.available = true;
        this.last.set(
          `${process.name}@${pid}`,
          Object.fromEntries(
            consumedOutcomes.map((outcome) => [
              outcome,
              metricSum(text, 'shop_events_consumed_total', { outcome }),
            ]),
          ),
        );
      }),
    );
  }

  totals(): ConsumedCounts {
    const totals: ConsumedCounts = Object.fromEntries(consumedOutcomes.map((o) => [o, 0]));
    for (const counts of this.last.values())
      for (const outcome of consumedOutcomes)
        totals[outcome] = (totals[outcome] ?? 0) + (counts[outcome] ?? 0);
    return totals;
  }
}

/** What the outbox relays published and what Kafka holds: more messages than rows means an event went out twice. */
export interface PublishedCounts {
  outboxRows: number;
  /** Messages on the domain topics (dead-letter topics aside). */
  messages: number;
  /** Messages on each group's dead-letter topic, by group (unprefixed; groups without any left out). */
  deadLetters: Record<string, number>;
}

export async function publishedCounts(stack: SubgraphProcesses): Promise<PublishedCounts> {
  let outboxRows = 0;
  for (const subgraph of Object.values(stack.subgraphs)) {
    if (!subgraph.database) continue;
    const [row] = await queryDatabase<{ n: number }>(
      subgraph.database.url,
      'SELECT count(*)::int AS n FROM outbox_events',
    );
    outboxRows += row?.n ?? 0;
  }
  const admin = stack.kafka.connection.kafka.admin();
  await admin.connect();
  try {
    let messages = 0;
    const deadLetters: Record<string, number> = {};
    for (const topic of await admin.listTopics()) {
      if (!topic.startsWith(stack.kafka.prefix)) continue;
      let count = 0;
      for (const partition of await admin.fetchTopicOffsets(topic))
        count += Number(partition.high) - Number(partition.low);
      const name = topic.slice(stack.kafka.prefix.length);
      if (!name.startsWith('dlq.')) messages += count;
      else if (count > 0) deadLetters[name.slice('dlq.'.length)] = count;
    }
    return { outboxRows, messages, deadLetters };
  } finally {
    await admin.disconnect();
  }
}

/**
 * Where the drill's consumer groups (feeds aside) stand: `committed`, the messages they have got past (each
 * counted once however often it was delivered), and `lag`, the messages they have not (0 once nothing is left
 * behind).
 */
export async function consumerProgress(
  stack: SubgraphProcesses,
): Promise<{ committed: number; lag: number }> {
  const groups = await consumerGroupsOf(stack.kafka.connection, stack.kafka.prefix);
  const admin = stack.kafka.connection.kafka.admin();
  await admin.connect();
  try {
    let committed = 0;
    let lag = 0;
    for (const groupId of groups) {
      for (const { topic, partitions } of await admin.fetchOffsets({ groupId })) {
        for (const end of await admin.fetchTopicOffsets(topic)) {
          const offset = Number(partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
          const at = Math.max(offset, Number(end.low));
          committed += at - Number(end.low);
          lag += Number(end.high) - at;
        }
      }
    }
    return { committed, lag };
  } finally {
    await admin.disconnect();
  }
}
