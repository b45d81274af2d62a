import DataLoader from 'dataloader';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A UUID as Postgres prints it (lower case), or undefined for anything that is not a UUID. */
export function normaliseId(id: unknown): string | undefined {
  if (typeof id !== 'string') return undefined;
  const lower = id.toLowerCase();
  return UUID.test(lower) ? lower : undefined;
}

/**
 * The per-request by-id loader every subgraph uses for `__resolveReference` and id lookups: every id asked
 * for in one tick is fetched with ONE call of `fetchByIds` (distinct, well-formed, lower-cased ids only).
 * A malformed id resolves to null without reaching the database (Postgres would fail the whole batch on it),
 * and ids differing only in letter case share one cache entry. Build one per request (in createContext), so
 * one request's cache never serves another caller.
 */
export function createByIdLoader<T extends { id: string }>(
  fetchByIds: (ids: string[]) => Promise<readonly T[]>,
): DataLoader<string, T | null> {
  return new DataLoader<string, T | null, string>(
    async (keys) => {
      const ids = keys.map(normaliseId);
      const wellFormed = [...new Set(ids.filter((id) => id !== undefined))];
      const found = wellFormed.length === 0 ? [] : await fetchByIds(wellFormed);
      const byId = new Map(found.map((row) => [row.id, row]));
      return ids.map((id) => (id === undefined ? null : (byId.get(id) ?? null)));
    },
    { cacheKeyFn: (id) => normaliseId(id) ?? String(id) },
  );
}
