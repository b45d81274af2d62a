import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '@shop/infra';
import { freePort, postGraphQL, waitFor } from '@shop/testing';
import { afterAll, describe, expect, it } from 'vitest';

// `pnpm start` as a newcomer runs it (on free ports, so it can run beside a developer's own supergraph):
// migrations, seed, every subgraph, the gateway; then Ctrl-C stops every process it started.
describe('pnpm start', () => {
  let start: ChildProcess | undefined;
  const output: string[] = [];

  afterAll(async () => {
    // On a failure, stop it the way a user would (it then stops its children), and only then force it.
    if (start?.exitCode !== null || start.signalCode !== null) return;
    const exited = new Promise((resolve) => start?.once('exit', resolve));
    start.kill('SIGINT');
    const timer = setTimeout(() => start?.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  });

  it('brings the supergraph up with seeded data and stops it on SIGINT', async () => {
    const ports = {
      GATEWAY_PORT: await freePort(),
      USERS_PORT: await freePort(),
      PRODUCTS_PORT: await freePort(),
    };
    start = spawn(
      join(projectRoot, 'node_modules', '.bin', 'tsx'),
      ['packages/infra/src/start-supergraph.ts'],
      {
        cwd: projectRoot,
        env: {
          ...process.env,
          ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    start.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    start.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const exited = new Promise<number | null>((resolve) => start?.once('exit', (code) => resolve(code)));

    await waitFor('the supergraph to be up', () => output.join('').includes('The supergraph is up'), {
      timeoutMs: 120_000,
      intervalMs: 250,
    }).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n--- output ---\n${output.join('')}`);
    });

    const gateway = `http://localhost:${ports.GATEWAY_PORT}/graphql`;
    const result = await postGraphQL<{
      products: { edges: { node: { name: string; price: { amount: string; currency: string } } }[] };
    }>(gateway, '{ products(first: 3) { edges { node { name price { amount currency } } } } }');
    expect(result.errors).toBeUndefined();
    expect(result.data?.products.edges).toHaveLength(3);
    for (const { node } of result.data?.products.edges ?? []) {
      expect(node.name).not.toBe('');
      expect(node.price.amount).toMatch(/^\d+\.\d{2}$/);
    }
    const login = await postGraphQL<{ login: { user: { role: string } } }>(
      gateway,
      'mutation { login(email: "admin@example.com", password: "admin123") { user { role } } }',
    );
    expect(login.data?.login.user.role).toBe('ADMIN');

    start.kill('SIGINT');
    expect(await exited).toBe(0);
    for (const port of Object.values(ports)) {
      await expect(fetch(`http://localhost:${port}/health/live`)).rejects.toThrow();
    }
  });
});
