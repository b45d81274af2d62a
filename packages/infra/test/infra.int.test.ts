import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@shop/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { infraDown, infraStatus, infraUp, kafkaAnswers, readInfraSettings } from '../src';
import { redisAnswers } from '../src/redis';

/** Whether nothing listens on `port` and no connection holds it right now. */
const portIsFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/**
 * A free port whose next one is free too: infraUp gives a broker on port P its controller on P + 1, and with
 * other test files running at once (their servers and client sockets on ephemeral ports) P + 1 is sometimes taken.
 */
async function freeKafkaPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (await portIsFree(port + 1)) return port;
  }
}

// A second, private copy of the local infrastructure: its own Redis and Kafka on free ports and its own
// state folder, next to (and never touching) the services the rest of the suite uses.
describe('infra:up / infra:down', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shop-infra-'));
  const shared = readInfraSettings();
  let settings: ReturnType<typeof readInfraSettings>;

  afterAll(async () => {
    if (settings) await infraDown({ settings, dir });
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts what does not answer, is a no-op the second time, and stops only what it started', async () => {
    const kafkaPort = await freeKafkaPort();
    settings = {
      ...shared,
      redisUrl: `redis://127.0.0.1:${await freePort()}`,
      kafkaBrokers: [`localhost:${kafkaPort}`],
      redisConfigured: false,
      kafkaConfigured: false,
    };

    const first = await infraUp({ settings, dir });
    expect(first.started.sort()).toEqual(['kafka', 'redis']);
    expect(await redisAnswers(settings.redisUrl)).toBe(true);
    expect(await kafkaAnswers(settings.kafkaBrokers)).toBe(true);

    const second = await infraUp({ settings, dir });
    expect(second.started).toEqual([]);
    expect(
      (await infraStatus({ settings, dir })).map((s) => [s.service, s.answering, s.startedByUs]),
    ).toEqual([
      ['postgres', true, false],
      ['redis', true, true],
      ['kafka', true, true],
    ]);

    const down = await infraDown({ settings, dir });
    expect(down.stopped.sort()).toEqual(['kafka', 'redis']);
    expect(await redisAnswers(settings.redisUrl)).toBe(false);
    expect(await kafkaAnswers(settings.kafkaBrokers)).toBe(false);
    // What it did not start still runs: the shared Postgres, Redis and Kafka.
    expect((await infraStatus({ settings: shared })).every((s) => s.answering)).toBe(true);
    expect((await infraDown({ settings, dir })).stopped).toEqual([]);
  });
});
