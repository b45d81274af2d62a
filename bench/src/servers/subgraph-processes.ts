import { fileURLToPath } from 'node:url';
import { loadSubgraphs } from '@shop/infra';
import { createTestKafka, createTestKeys, createTestRedis } from '@shop/testing';
import { type BenchProcess, startProcess } from '../processes';

/** The subgraphs a checkout bench runs, however they are laid out in processes. */
export interface BenchSubgraphs {
  /** Their OS processes (one, or one per subgraph); CPU is summed over them. */
  processes: BenchProcess[];
  urls: Record<string, string>;
  databases: Record<string, string>;
  publicKeyPem: string;
  privateKeyPem: string;
  stripeApiUrl: string;
  stripeSecretKey: string;
  /** Each answers `GET` with SQL statements sent so far, by subgraph (`servers/statements.ts`). */
  statementsUrls: string[];
  /**
   * The local Stripe and the SMTP sink in a process of their own (own-processes layout only; in one process
   * they run inside the subgraphs' process, as in the e2e tests).
   */
  standIns?: BenchProcess;
  stop: () => Promise<void>;
}

const servers = fileURLToPath(new URL('./', import.meta.url));

/** All seven subgraphs in one Node process (`subgraphs.ts`), as the e2e tests run them. */
export async function startSubgraphsInOneProcess(
  env: Record<string, string>,
  nodeArgs: string[],
): Promise<BenchSubgraphs> {
  const process = await startProcess('subgraphs', `${servers}subgraphs.ts`, env, { nodeArgs });
  const ready = process.ready as Omit<BenchSubgraphs, 'processes' | 'stop'>;
  return { ...ready, processes: [process], stop: () => process.stop() };
}

/**
 * Every subgraph in a Node process of its own (`subgraph-process.ts`), as production deploys them: on a
 * multi-core machine they no longer share one core. Started one after another in registry order, each told
 * the URLs of those before it (as `pnpm start` does); one Kafka topic prefix, one Redis key prefix and one
 * key pair for all of them, owned (and cleaned up) here.
 */
export async function startSubgraphsInOwnProcesses(
  env: Record<string, string>,
  nodeArgs: string[],
): Promise<BenchSubgraphs> {
  const keys = await createTestKeys();
  const [kafka, redis] = await Promise.all([createTestKafka(), createTestRedis()]);
  const processes: BenchProcess[] = [];
  let standIns: BenchProcess | undefined;
  const stop = async () => {
    await Promise.all(processes.map((p) => p.stop().catch(() => {})));
    await standIns?.stop().catch(() => {});
    await Promise.all([kafka.cleanup(), redis.cleanup()]);
  };
  try {
    // The local Stripe and SMTP sink first: payments and notifications are pointed at them (and so start
    // none of their own), and their CPU is counted apart from ours.
    standIns = await startProcess('stand-ins', `${servers}stand-ins-process.ts`, env, { nodeArgs });
    const standInEnv = (standIns.ready as { env: Record<string, string> }).env;
    const shared: Record<string, string> = {
      JWT_PUBLIC_KEY: keys.publicKeyPem,
      JWT_PRIVATE_KEY: keys.privateKeyPem,
      ...standInEnv,
    };
    const urls: Record<string, string> = {};
    const databases: Record<string, string> = {};
    const statementsUrls: string[] = [];
    const stripe = {
      stripeApiUrl: standInEnv.STRIPE_API_URL ?? '',
      stripeSecretKey: standInEnv.STRIPE_SECRET_KEY ?? '',
    };
    for (const definition of await loadSubgraphs()) {
      const child = await startProcess(
        definition.name,
        `${servers}subgraph-process.ts`,
        {
          ...env,
          BENCH_SUBGRAPH: definition.name,
          BENCH_KAFKA_PREFIX: kafka.prefix,
          BENCH_KAFKA_BROKERS: kafka.brokers.join(','),
          BENCH_REDIS_PREFIX: redis.prefix,
          BENCH_ENV: JSON.stringify(shared),
        },
        { nodeArgs },
      );
      processes.push(child);
      const ready = child.ready as {
        url: string;
        database?: string;
        statementsUrl: string;
      };
      urls[definition.name] = ready.url;
      if (ready.database) databases[definition.name] = ready.database;
      if (definition.name === 'payments') {
        // The stand-in sends its webhooks to payments.
        const response = await fetch(`${stripe.stripeApiUrl}/_local/webhooks`, {
          method: 'POST',
          headers: { authorization: `Bearer ${stripe.stripeSecretKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ url: new URL('/webhooks/stripe', ready.url).toString() }),
        });
        if (!response.ok) throw new Error(`the local Stripe refused its webhook URL: ${response.status}`);
      }
      statementsUrls.push(ready.statementsUrl);
      shared[`${definition.name.toUpperCase()}_URL`] = ready.url;
    }
    return {
      processes,
      urls,
      databases,
      publicKeyPem: keys.publicKeyPem,
      privateKeyPem: keys.privateKeyPem,
      ...stripe,
      statementsUrls,
      standIns,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
