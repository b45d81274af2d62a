import { join } from 'node:path';
import { Redis } from 'ioredis';
import { commandExists, isOurProcess, spawnDetached, stopProcess, waitUntil } from './process';

export async function redisAnswers(redisUrl: string): Promise<boolean> {
  const client = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

// redis-server rewrites its title to `redis-server host:port`, which still names it.
const REDIS_MARKER = 'redis-server';

/** Starts redis-server in the foreground of a detached process (so we own its pid); keeps nothing on disk. */
export async function startRedis(redisUrl: string, dir: string): Promise<number> {
  if (!commandExists('redis-server')) {
    throw new Error(
      'Redis does not answer and redis-server is missing: install redis-server or set REDIS_URL',
    );
  }
  const port = new URL(redisUrl).port || '6379';
  const pid = spawnDetached(
    'redis-server',
    ['--port', port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    join(dir, 'redis.log'),
  );
  await waitUntil('Redis', () => redisAnswers(redisUrl), { timeoutMs: 15_000 });
  return pid;
}

export function isOurRedis(pid: number): boolean {
  return isOurProcess(pid, REDIS_MARKER);
}

export async function stopRedis(pid: number): Promise<void> {
  await stopProcess(pid, REDIS_MARKER);
}
