import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { applyMigrations, ensureDatabase, withDatabase } from '@shop/db';
import { createLogger } from '@shop/kit';
import { type LocalServices, seedSubgraph, subgraphMigrations } from '@shop/runtime';
import { infraUp } from './infra';
import { infraDir, projectRoot } from './paths';
import { waitUntil } from './process';
import { GATEWAY_PORT, loadSubgraphs, subgraphDir, subgraphUrl } from './registry';
import { readInfraSettings } from './settings';

// `pnpm start`: infrastructure, migrations, demo data, every subgraph of subgraphs/registry.ts, then the
// gateway; Ctrl-C stops all. Ports and URLs come from env when set (<NAME>_PORT, GATEWAY_PORT,
// <NAME>_DATABASE_URL); SHOP_DATABASE_PREFIX names the databases `<prefix><name>` (tests use their own).

const env = process.env;
// `node --import tsx` rather than the tsx CLI: the pid we hold is the server itself, not a wrapper whose
// child would outlive a SIGKILL and keep its port.
const tsxLoader = pathToFileURL(createRequire(join(projectRoot, 'package.json')).resolve('tsx')).href;
const children: { name: string; child: ChildProcess }[] = [];
/** Local stand-ins started for subgraphs (stopped with everything else). */
const localServices: { name: string; services: LocalServices }[] = [];
const startLogger = createLogger('start', env.LOG_LEVEL ?? 'info');
let stopping = false;

/** Development signing keys, made once per checkout, unless JWT_PRIVATE_KEY/JWT_PUBLIC_KEY are set. */
function devKeys(): { privateKey: string; publicKey: string } {
  if (env.JWT_PRIVATE_KEY && env.JWT_PUBLIC_KEY)
    return { privateKey: env.JWT_PRIVATE_KEY, publicKey: env.JWT_PUBLIC_KEY };
  const dir = join(infraDir, 'keys');
  const privateFile = join(dir, 'jwt-private.pem');
  const publicFile = join(dir, 'jwt-public.pem');
  if (!existsSync(privateFile)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { privateKey, publicKey } = generateKeyPairSync('ed25519', {
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    writeFileSync(privateFile, privateKey, { mode: 0o600 });
    writeFileSync(publicFile, publicKey);
  }
  return { privateKey: readFileSync(privateFile, 'utf8'), publicKey: readFileSync(publicFile, 'utf8') };
}

const levelNames: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/** One readable line per pino record, prefixed with the process name. */
function relay(name: string, stream: NodeJS.ReadableStream | null): void {
  if (!stream) return;
  createInterface({ input: stream }).on('line', (line) => {
    try {
      const {
        level,
        msg,
        time: _t,
        pid: _p,
        hostname: _h,
        service: _s,
        name: _n,
        ...rest
      } = JSON.parse(line);
      const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
      console.log(`[${name}] ${levelNames[level] ?? level} ${msg}${extra}`);
    } catch {
      console.log(`[${name}] ${line}`);
    }
  });
}

function launch(name: string, cwd: string, script: string, extraEnv: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', tsxLoader, script], {
    cwd,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  relay(name, child.stdout);
  relay(name, child.stderr);
  return child;
}

async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(new URL('/health/ready', url))).ok;
  } catch {
    return false;
  }
}

async function stopAll(exitCode: number): Promise<never> {
  stopping = true;
  console.log('\nstopping the supergraph…');
  await Promise.all(
    children.map(
      ({ child }) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
        }),
    ),
  );
  await Promise.all(localServices.map(({ services }) => services.stop().catch(() => {})));
  process.exit(exitCode);
}

function supervise(name: string, child: ChildProcess): void {
  children.push({ name, child });
  child.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(`${name} stopped unexpectedly (${signal ?? `exit ${code}`}); stopping everything`);
    void stopAll(1);
  });
}

async function main(): Promise<void> {
  process.once('SIGINT', () => void stopAll(0));
  process.once('SIGTERM', () => void stopAll(0));
  const settings = readInfraSettings();
  await infraUp({ settings, progress: (message) => console.log(`[infra] ${message}`) });
  const keys = devKeys();
  // Signs the client address the gateway forwards (users' rate limits, products' entity visibility).
  const gatewaySecret = env.GATEWAY_SECRET ?? randomBytes(32).toString('base64url');
  const common: Record<string, string> = {
    GATEWAY_SECRET: gatewaySecret,
    JWT_PUBLIC_KEY: keys.publicKey,
    KAFKA_BROKERS: settings.kafkaBrokers.join(','),
    REDIS_URL: settings.redisUrl,
    LOG_LEVEL: env.LOG_LEVEL ?? 'info',
    // Subgraphs answer only on this machine: clients go through the gateway, which applies its limits.
    HOST: env.SUBGRAPH_HOST ?? '127.0.0.1',
  };
  const urls: Record<string, string> = {};

  for (const subgraph of await loadSubgraphs()) {
    const upper = subgraph.name.toUpperCase();
    const port = Number(env[`${upper}_PORT`] ?? subgraph.env.port);
    const own: Record<string, string> = { ...common, PORT: String(port) };
    // Only the subgraph whose settings ask for the signing key (users) is given it.
    if ('JWT_PRIVATE_KEY' in subgraph.env.schema.shape) own.JWT_PRIVATE_KEY = keys.privateKey;
    if (subgraph.env.uses.includes('postgres')) {
      const databaseUrl =
        env[`${upper}_DATABASE_URL`] ??
        withDatabase(settings.postgresUrl, `${env.SHOP_DATABASE_PREFIX ?? ''}${subgraph.name}`);
      own.DATABASE_URL = databaseUrl;
      await ensureDatabase(databaseUrl);
      const { applied } = await applyMigrations({ databaseUrl, migrationsDir: subgraphMigrations(subgraph) });
      console.log(
        `[${subgraph.name}] migrations: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`,
      );
    }
    // Local stand-ins (a Stripe-compatible server, an SMTP sink) unless env names real services.
    const local = await subgraph.localServices?.({ env: { ...env, ...own }, logger: startLogger });
    if (local) {
      Object.assign(own, local.env);
      localServices.push({ name: subgraph.name, services: local });
    }
    const seeded = await seedSubgraph(subgraph, { env: { ...env, ...own, LOG_LEVEL: 'warn' } });
    if (seeded) console.log(`[${subgraph.name}] seeded ${seeded}`);
    const dir = subgraphDir(subgraph.name);
    supervise(subgraph.name, launch(subgraph.name, dir, 'src/index.ts', own));
    const url = subgraphUrl(port);
    urls[subgraph.name] = url;
    // Later subgraphs may call this one (orders and cart price lines with products): <NAME>_URL.
    common[`${upper}_URL`] = env[`${upper}_URL`] ?? url;
  }
  for (const [name, url] of Object.entries(urls)) {
    await waitUntil(`${name} subgraph at ${url}`, () => ready(url), { timeoutMs: 90_000, intervalMs: 300 });
  }
  for (const { name, services } of localServices) await services.afterLaunch?.(urls[name] ?? '');

  const gatewayPort = Number(env.GATEWAY_PORT ?? GATEWAY_PORT);
  const gatewayUrl = subgraphUrl(gatewayPort);
  supervise(
    'gateway',
    launch('gateway', join(projectRoot, 'gateway'), 'src/index.ts', {
      JWT_PUBLIC_KEY: keys.publicKey,
      GATEWAY_SECRET: gatewaySecret,
      REDIS_URL: settings.redisUrl,
      LOG_LEVEL: env.LOG_LEVEL ?? 'info',
      PORT: String(gatewayPort),
      SUBGRAPH_URLS: Object.entries(urls)
        .map(([name, url]) => `${name}=${url}`)
        .join(','),
    }),
  );
  await waitUntil(`gateway at ${gatewayUrl}`, () => ready(gatewayUrl), {
    timeoutMs: 60_000,
    intervalMs: 300,
  });

  console.log(`
The supergraph is up. Ctrl-C stops everything it started (infrastructure keeps running: pnpm infra:down).
  Gateway + Apollo Sandbox  ${gatewayUrl}
${Object.entries(urls)
  .map(([name, url]) => `  ${name.padEnd(24)}  ${url}`)
  .join('\n')}
  Kafka                     ${settings.kafkaBrokers.join(',')}
${localServices
  .flatMap(({ services }) => services.describe ?? [])
  .map((line) => `  ${line}`)
  .join('\n')}
Demo logins: test@example.com / password123 (customer), admin@example.com / admin123 (admin)
`);
}

main().catch((error: unknown) => {
  console.error(`start failed: ${error instanceof Error ? error.message : String(error)}`);
  void stopAll(1);
});
