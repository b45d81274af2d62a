import { fileURLToPath } from 'node:url';
import { postGraphQL, startTestSubgraph, subscribeOverWs, type TestSubgraph, waitFor } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineSubgraph, subgraphEnv } from '../src';

// A subgraph of the launcher's own over real Postgres, with a genuinely slow query (a scan that sleeps per row):
// the launcher's statement timeout and the server's request deadline must bound it, and the others must not
// wait for it beyond a bound (printed: this box is shared, so the assertions are generous).
const slowSql = defineSubgraph({
  name: 'slow-sql',
  env: subgraphEnv({ port: 3998, uses: ['postgres'] }),
  schemaPath: fileURLToPath(new URL('./fixture/slow-sql/schema.graphql', import.meta.url)),
  migrationsDir: fileURLToPath(new URL('./fixture/slow-sql/migrations', import.meta.url)),
  build: async ({ postgres }) => {
    const db = await postgres.adapter.connect();
    const rows = async (sql: string) => (await db.queryRaw({ sql, args: [], argTypes: [] })).rows;
    return {
      resolvers: {
        Query: {
          // GraphQL checked both as Int: safe to write into the statement.
          slowCount: async (_: unknown, { sleepMs }: { sleepMs: number }) =>
            (
              await rows(`SELECT count(*)::int FROM "number" WHERE pg_sleep(${sleepMs} / 1000.0)::text = ''`)
            )[0]?.[0],
          steps: async (_: unknown, { count, sleepMs }: { count: number; sleepMs: number }) => {
            Object.assign(steps, { ran: 0, ended: false, error: undefined });
            try {
              for (let i = 0; i < count; i += 1) {
                await rows(`SELECT pg_sleep(${sleepMs} / 1000.0)::text`);
                steps.ran += 1;
              }
            } catch (error) {
              steps.error = error;
              throw error;
            } finally {
              steps.ended = true;
            }
            return steps.ran;
          },
          numbers: async (_: unknown, { first }: { first?: number | null }) =>
            (await rows(`SELECT n FROM "number" ORDER BY n LIMIT ${first ?? 10}`)).map((row) => row[0]),
        },
      },
      resources: [{ name: 'slow-sql adapter', close: () => db.dispose() }],
    };
  },
});

/** What the last `steps` call did: statements it ran, and whether its loop has ended (the deadline abandons it). */
const steps = { ran: 0, ended: false, error: undefined as unknown };

type Answer = Awaited<ReturnType<typeof postGraphQL>>;

async function timed(url: string, query: string): Promise<{ ms: number; answer: Answer }> {
  const started = performance.now();
  const answer = await postGraphQL(url, query);
  return { ms: performance.now() - started, answer };
}

const quick = '{ numbers(first: 3) }';

describe('a statement timeout bounds a slow query (DATABASE_STATEMENT_TIMEOUT_MS=500)', () => {
  let subgraph: TestSubgraph;
  beforeAll(async () => {
    subgraph = await startTestSubgraph(slowSql, {
      env: { DATABASE_STATEMENT_TIMEOUT_MS: '500', REQUEST_DEADLINE_MS: '20000' },
    });
  });
  afterAll(() => subgraph?.stop());

  it('cancels the 10 s scan at 0.5 s with REQUEST_TIMEOUT (no SQL in the answer); the pool serves the next request', async () => {
    const slow = await timed(subgraph.url, '{ slowCount(sleepMs: 10) }');
    console.log(`10 s scan under a 500 ms statement timeout answered in ${slow.ms.toFixed(0)} ms`);
    expect(slow.answer.errors).toMatchObject([
      { path: ['slowCount'], extensions: { code: 'REQUEST_TIMEOUT' } },
    ]);
    expect(JSON.stringify(slow.answer)).not.toMatch(/pg_sleep|SELECT|statement_timeout/i);
    expect(slow.ms).toBeLessThan(8_000);
    expect((await postGraphQL(subgraph.url, quick)).data).toEqual({ numbers: [1, 2, 3] });
  });

  it('one slow request does not delay others; a burst that takes every pooled connection delays them by about the timeout', async () => {
    const one = postGraphQL(subgraph.url, '{ slowCount(sleepMs: 10) }');
    const beside = await Promise.all(Array.from({ length: 5 }, () => timed(subgraph.url, quick)));
    await one;
    const besideOne = Math.max(...beside.map((r) => r.ms));
    // Twenty slow requests against a pool of ten: the quick ones queue for a connection until Postgres cancels.
    const burst = Array.from({ length: 20 }, () => postGraphQL(subgraph.url, '{ slowCount(sleepMs: 10) }'));
    const behind = await Promise.all(Array.from({ length: 5 }, () => timed(subgraph.url, quick)));
    const answers = await Promise.all(burst);
    const behindBurst = Math.max(...behind.map((r) => r.ms));
    console.log(
      `quick queries beside one slow one: at most ${besideOne.toFixed(0)} ms; behind 20 slow ones: at most ${behindBurst.toFixed(0)} ms (the scans take 10 s uncancelled)`,
    );
    for (const r of [...beside, ...behind]) expect(r.answer.data).toEqual({ numbers: [1, 2, 3] });
    for (const a of answers) expect(a.errors?.[0]?.extensions?.code).toBe('REQUEST_TIMEOUT');
    expect(besideOne).toBeLessThan(5_000);
    expect(behindBurst).toBeLessThan(8_000);
  });
});

describe('the request deadline bounds a request whatever it waits for (REQUEST_DEADLINE_MS=700)', () => {
  let subgraph: TestSubgraph;
  beforeAll(async () => {
    subgraph = await startTestSubgraph(slowSql, {
      env: { DATABASE_STATEMENT_TIMEOUT_MS: '3000', REQUEST_DEADLINE_MS: '700' },
    });
  });
  afterAll(() => subgraph?.stop());

  it('answers REQUEST_TIMEOUT at the deadline, long before the scan ends, and serves the next request', async () => {
    const slow = await timed(subgraph.url, `{ numbers(first: 2) slowCount(sleepMs: 2) }`);
    console.log(`a 2 s scan under a 700 ms request deadline answered in ${slow.ms.toFixed(0)} ms`);
    expect(slow.answer.status).toBe(200);
    expect(slow.answer.data).toBeNull(); // slowCount is non-null, so the whole data is null
    expect(slow.answer.errors).toMatchObject([
      { path: ['slowCount'], extensions: { code: 'REQUEST_TIMEOUT', deadlineMs: 700 } },
    ]);
    expect(slow.ms).toBeLessThan(1_900); // well before the 2 s scan ends
    expect((await postGraphQL(subgraph.url, quick)).data).toEqual({ numbers: [1, 2, 3] });
  });

  it('stops a resolver the deadline abandoned at its next statement: it takes no more pooled connections', async () => {
    const slow = await timed(subgraph.url, '{ steps(count: 10, sleepMs: 200) }');
    expect(slow.answer.errors?.[0]?.extensions?.code).toBe('REQUEST_TIMEOUT');
    await waitFor('the abandoned loop to end', () => steps.ended);
    console.log(`10 statements of 200 ms under a 700 ms deadline: ${steps.ran} ran, the rest were refused`);
    expect(steps.ran).toBeLessThan(10);
    expect(steps.error).toMatchObject({ extensions: { code: 'REQUEST_TIMEOUT' } });
  });

  it('keeps the deadline over graphql-ws too', async () => {
    const operation = subscribeOverWs(subgraph.wsUrl, '{ slowCount(sleepMs: 2) }');
    await operation.ended;
    await operation.close();
    expect(operation.values[0]?.errors).toMatchObject([{ extensions: { code: 'REQUEST_TIMEOUT' } }]);
  });
});
