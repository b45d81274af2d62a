import { AsyncLocalStorage } from 'node:async_hooks';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { GraphQLError, type GraphQLSchema, isObjectType } from 'graphql';

/**
 * The moment a request's time is up. Once it passes, every field still waiting for its resolver is answered
 * with REQUEST_TIMEOUT (and no field starts resolving), so the response leaves at the deadline whatever is
 * still running; a database statement still running is cancelled by Postgres (DATABASE_STATEMENT_TIMEOUT_MS).
 */
export class RequestDeadline {
  private expired = false;
  private readonly timer: NodeJS.Timeout;
  private readonly waiting = new Set<(error: GraphQLError) => void>();

  constructor(readonly ms: number) {
    this.timer = setTimeout(() => this.expire(), ms);
    this.timer.unref();
  }

  get hasExpired(): boolean {
    return this.expired;
  }

  error(): GraphQLError {
    return new GraphQLError(`The request took longer than its deadline of ${this.ms} ms`, {
      extensions: { code: 'REQUEST_TIMEOUT', deadlineMs: this.ms },
    });
  }

  /** The promise's outcome, or REQUEST_TIMEOUT at the deadline if it has not settled by then. */
  race<T>(promise: PromiseLike<T>): Promise<T> {
    if (this.expired) return Promise.reject(this.error());
    return new Promise<T>((resolve, reject) => {
      this.waiting.add(reject);
      promise.then(
        (value) => {
          this.waiting.delete(reject);
          resolve(value);
        },
        (error: unknown) => {
          this.waiting.delete(reject);
          reject(error);
        },
      );
    });
  }

  /** The request is over: nothing more to time out. */
  clear(): void {
    clearTimeout(this.timer);
    this.waiting.clear();
  }

  private expire(): void {
    this.expired = true;
    const error = this.error();
    for (const reject of this.waiting) reject(error);
    this.waiting.clear();
  }
}

// Per operation context: resolvers receive the context, so they find its deadline without another argument.
const deadlines = new WeakMap<object, RequestDeadline>();

/** Starts the deadline of the operation that runs with this context (a query or mutation, not a subscription). */
export function startDeadline(context: object, ms: number): RequestDeadline {
  const deadline = new RequestDeadline(ms);
  deadlines.set(context, deadline);
  return deadline;
}

// The deadline of the operation whose resolver is running, for what the resolver calls (a database adapter).
const running = new AsyncLocalStorage<RequestDeadline>();

/** The deadline of the request this code runs for, if it runs inside a resolver of a request that has one. */
export function currentDeadline(): RequestDeadline | undefined {
  return running.getStore();
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

/**
 * Makes every resolver of the schema keep its operation's deadline: past it, a resolver is not called and a
 * pending one is abandoned, both answering REQUEST_TIMEOUT. What a resolver calls sees the deadline through
 * `currentDeadline()` (the launcher's database adapter refuses new statements past it). Default resolvers
 * (reading a property) are left as they are; an operation without a deadline (a subscription) runs unchanged.
 */
export function enforceDeadlines(schema: GraphQLSchema): void {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const resolve = field.resolve;
      if (!resolve) continue;
      field.resolve = (source, args, context, info) => {
        const deadline = typeof context === 'object' && context !== null ? deadlines.get(context) : undefined;
        if (!deadline) return resolve(source, args, context, info);
        if (deadline.hasExpired) throw deadline.error();
        const result = running.run(deadline, resolve, source, args, context, info);
        return isPromiseLike(result) ? deadline.race(result) : result;
      };
    }
  }
}

/** Starts each HTTP operation's deadline as Apollo begins it, and clears it once the response is sent. */
export function deadlinePlugin<TContext extends BaseContext>(ms: number): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart({ contextValue }) {
      const deadline = startDeadline(contextValue, ms);
      return {
        async willSendResponse() {
          deadline.clear();
        },
      };
    },
  };
}

// Postgres's SQLSTATE for a statement it cancelled: "canceling statement due to statement timeout".
const QUERY_CANCELED = '57014';

/**
 * Whether an error is Postgres cancelling a statement (statement_timeout), wherever the driver or Prisma put
 * the SQLSTATE: the driver adapter's `cause.originalCode`, Prisma's `meta.driverAdapterError`, pg's `code`.
 */
export function isStatementTimeout(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 5) return false;
  const candidate = error as {
    code?: unknown;
    originalCode?: unknown;
    cause?: unknown;
    meta?: { driverAdapterError?: unknown };
  };
  if (candidate.originalCode === QUERY_CANCELED || candidate.code === QUERY_CANCELED) return true;
  return (
    isStatementTimeout(candidate.cause, depth + 1) ||
    isStatementTimeout(candidate.meta?.driverAdapterError, depth + 1)
  );
}

/** What a client sees for a cancelled statement: the same REQUEST_TIMEOUT as a passed deadline. */
export function statementTimeoutError(): GraphQLError {
  return new GraphQLError('The database took too long to answer; the statement was cancelled', {
    extensions: { code: 'REQUEST_TIMEOUT' },
  });
}
