import type { createPrismaAdapter } from '@shop/db';

type PrismaPgFactory = ReturnType<typeof createPrismaAdapter>;
type PrismaPgAdapter = Awaited<ReturnType<PrismaPgFactory['connect']>>;

/** Calls `onStatement` for every SQL statement Prisma hands to the driver adapter, inside transactions too. */
export function recordingAdapter(
  factory: PrismaPgFactory,
  onStatement: (sql: string) => void,
): PrismaPgFactory {
  const count = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(object, property) {
        const value: unknown = Reflect.get(object, property, object);
        if (typeof value !== 'function') return value;
        if (property === 'queryRaw' || property === 'executeRaw') {
          return (query: { sql: string }) => {
            onStatement(query.sql);
            return value.call(object, query);
          };
        }
        if (property === 'startTransaction') {
          return async (...args: unknown[]) => count(await value.apply(object, args));
        }
        return value.bind(object);
      },
    });
  return new Proxy(factory, {
    get(object, property) {
      if (property === 'connect') return async (): Promise<PrismaPgAdapter> => count(await object.connect());
      const value: unknown = Reflect.get(object, property, object);
      return typeof value === 'function' ? value.bind(object) : value;
    },
  });
}
