import { currentDeadline } from '@shop/kit';
import type { PrismaAdapterFactory } from './definition';

type Adapter = Awaited<ReturnType<PrismaAdapterFactory['connect']>>;

/**
 * The Prisma adapter of a subgraph, refusing to start a statement or a transaction for a request whose deadline
 * has passed (REQUEST_TIMEOUT): a resolver the deadline abandoned stops taking pooled connections at its next
 * statement, and one running statement is bounded by Postgres's statement_timeout.
 */
export function deadlineAwareAdapter(factory: PrismaAdapterFactory): PrismaAdapterFactory {
  const guard = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(object, property) {
        const value: unknown = Reflect.get(object, property, object);
        if (typeof value !== 'function') return value;
        if (property === 'queryRaw' || property === 'executeRaw' || property === 'startTransaction') {
          return async (...args: unknown[]) => {
            const deadline = currentDeadline();
            if (deadline?.hasExpired) throw deadline.error();
            const result: unknown = await value.apply(object, args);
            return property === 'startTransaction' ? guard(result as object) : result;
          };
        }
        return value.bind(object);
      },
    });
  return new Proxy(factory, {
    get(object, property) {
      if (property === 'connect') return async (): Promise<Adapter> => guard(await object.connect());
      const value: unknown = Reflect.get(object, property, object);
      return typeof value === 'function' ? value.bind(object) : value;
    },
  });
}
