import { describe, expect, it } from 'vitest';
import { createLogger } from './logging';
import { Shutdown } from './shutdown';

describe('Shutdown', () => {
  const logger = createLogger('test', 'silent');

  it('stops in reverse order of start, once, even when a step fails', async () => {
    const order: string[] = [];
    const shutdown = new Shutdown(logger);
    shutdown.register('database', async () => order.push('database'));
    shutdown.register('consumer', async () => {
      order.push('consumer');
      throw new Error('broker gone');
    });
    shutdown.register('server', async () => order.push('server'));
    await Promise.all([shutdown.run('SIGTERM'), shutdown.run('SIGINT')]);
    expect(order).toEqual(['server', 'consumer', 'database']);
  });

  it('gives up on a stuck step after the timeout', async () => {
    const shutdown = new Shutdown(logger, 50);
    shutdown.register('stuck', () => new Promise(() => {}));
    const started = Date.now();
    await shutdown.run('SIGTERM');
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
