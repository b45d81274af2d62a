import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createByIdLoader, normaliseId } from './loaders';

describe('createByIdLoader', () => {
  const rows = [randomUUID(), randomUUID()].map((id) => ({ id, name: `row ${id}` }));

  function loader() {
    const calls: string[][] = [];
    const byId = createByIdLoader(async (ids) => {
      calls.push(ids);
      return rows.filter((row) => ids.includes(row.id));
    });
    return { byId, calls };
  }

  it('fetches distinct lower-cased ids of one tick in one call, answering in request order', async () => {
    const { byId, calls } = loader();
    const [a, b] = rows;
    const unknown = randomUUID();
    const result = await byId.loadMany([b?.id ?? '', unknown, a?.id.toUpperCase() ?? '', b?.id ?? '']);
    expect(result).toEqual([b, null, a, b]);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.sort()).toEqual([a?.id, b?.id, unknown].sort());
  });

  it('answers null for malformed ids without fetching them', async () => {
    const { byId, calls } = loader();
    expect(await byId.loadMany(['not-a-uuid', '', "1' OR '1'='1"])).toEqual([null, null, null]);
    expect(calls).toEqual([]);
  });

  it('normalises only UUIDs', () => {
    expect(normaliseId('6F1C0C6E-5E0C-4D7C-9D0E-1A2B3C4D5E6F')).toBe('6f1c0c6e-5e0c-4d7c-9d0e-1a2b3c4d5e6f');
    expect(normaliseId(42)).toBeUndefined();
    expect(normaliseId('6f1c0c6e')).toBeUndefined();
  });
});
