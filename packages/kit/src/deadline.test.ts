import { ApolloServer } from '@apollo/server';
import { buildSchema, type GraphQLFieldResolver } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadlinePlugin, enforceDeadlines, isStatementTimeout, RequestDeadline } from './deadline';

describe('RequestDeadline', () => {
  it('rejects what is still pending at the deadline, and everything raced after it', async () => {
    const deadline = new RequestDeadline(20);
    const never = deadline.race(new Promise(() => {}));
    const quick = deadline.race(Promise.resolve('quick'));
    await expect(quick).resolves.toBe('quick');
    await expect(never).rejects.toMatchObject({ extensions: { code: 'REQUEST_TIMEOUT' } });
    expect(deadline.hasExpired).toBe(true);
    await expect(deadline.race(Promise.resolve(1))).rejects.toMatchObject({
      extensions: { code: 'REQUEST_TIMEOUT' },
    });
  });
});

describe('deadlinePlugin with enforceDeadlines', () => {
  const started: string[] = [];
  const schema = buildSchema(`
    type Query { hang: String quick: String }
    type Mutation { step: Int }
  `);
  const resolvers: Record<string, GraphQLFieldResolver<unknown, unknown>> = {
    hang: () => {
      started.push('hang');
      return new Promise(() => {});
    },
    quick: () => {
      started.push('quick');
      return 'done';
    },
    step: async () => {
      started.push('step');
      await new Promise((resolve) => setTimeout(resolve, 60));
      return started.length;
    },
  };
  for (const type of [schema.getQueryType(), schema.getMutationType()]) {
    for (const field of Object.values(type?.getFields() ?? {})) {
      const resolve = resolvers[field.name];
      if (resolve) field.resolve = resolve;
    }
  }
  enforceDeadlines(schema);
  const server = new ApolloServer({ schema, plugins: [deadlinePlugin(100)] });
  beforeAll(() => server.start());
  afterAll(() => server.stop());

  it('answers a field that is still resolving at the deadline with REQUEST_TIMEOUT, the rest as resolved', async () => {
    const response = await server.executeOperation({ query: '{ quick hang }' });
    if (response.body.kind !== 'single') throw new Error('single result expected');
    expect(response.body.singleResult.data).toEqual({ quick: 'done', hang: null });
    expect(response.body.singleResult.errors).toMatchObject([
      { path: ['hang'], extensions: { code: 'REQUEST_TIMEOUT' } },
    ]);
  });

  it('starts no resolver once the deadline has passed', async () => {
    started.length = 0;
    // Mutation fields run one after another: the first ends at 60 ms, the second is pending at 100 ms.
    const response = await server.executeOperation({ query: 'mutation { a: step b: step c: step d: step }' });
    if (response.body.kind !== 'single') throw new Error('single result expected');
    expect(response.body.singleResult.data).toEqual({ a: 1, b: null, c: null, d: null });
    expect(started).toEqual(['step', 'step']);
    expect(response.body.singleResult.errors?.map((e) => e.extensions?.code)).toEqual([
      'REQUEST_TIMEOUT',
      'REQUEST_TIMEOUT',
      'REQUEST_TIMEOUT',
    ]);
  });

  it('gives each operation its own deadline', async () => {
    started.length = 0;
    const [a, b] = await Promise.all([
      server.executeOperation({ query: '{ quick }' }),
      server.executeOperation({ query: '{ quick }' }),
    ]);
    for (const response of [a, b]) {
      if (response.body.kind !== 'single') throw new Error('single result expected');
      expect(response.body.singleResult).toEqual({ data: { quick: 'done' } });
    }
    expect(started).toEqual(['quick', 'quick']);
  });
});

describe('isStatementTimeout', () => {
  it("finds Postgres's 57014 wherever the driver adapter, Prisma or pg put it", () => {
    expect(isStatementTimeout({ cause: { originalCode: '57014' } })).toBe(true);
    expect(isStatementTimeout({ meta: { driverAdapterError: { cause: { originalCode: '57014' } } } })).toBe(
      true,
    );
    expect(isStatementTimeout({ code: '57014' })).toBe(true);
    expect(isStatementTimeout({ cause: { originalCode: '23505' } })).toBe(false);
    expect(isStatementTimeout(new Error('57014'))).toBe(false);
  });
});
