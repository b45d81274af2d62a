import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { useProducts } from './support';

// What the gateway sends when a cart or an order needs product fields.
const ENTITIES = `query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Product { id sku name active price { amount currency } }
  }
}`;

interface EntityJson {
  id: string;
  sku: string;
  active: boolean;
  price: { amount: string; currency: string };
}

const products = useProducts();
let ids: string[];

beforeAll(async () => {
  const rows = Array.from({ length: 50 }, (_, i) => ({
    id: randomUUID(),
    name: `Entity ${i}`,
    sku: `ENT-${i}`,
    price: i % 2 === 0 ? '10' : '19.99',
    // Every tenth is inactive: only admins and the gateway's plans may resolve those.
    active: i % 10 !== 0,
  }));
  await products.prisma.product.createMany({ data: rows });
  ids = rows.map((row) => row.id);
});
const representations = (list: string[]) => list.map((id) => ({ __typename: 'Product', id }));

describe('Product entities', () => {
  it('resolves 50 references with exactly one SQL query, in request order, null for unknown ids', async () => {
    const unknownA = randomUUID();
    const unknownB = randomUUID();
    const requested = [...ids].reverse();
    requested.splice(7, 0, unknownA);
    requested.splice(31, 0, unknownB);

    products.sql.length = 0;
    const response = await products.post<{ _entities: (EntityJson | null)[] }>(
      ENTITIES,
      { representations: representations(requested) },
      'admin',
    );

    expect(response.errors).toBeUndefined();
    expect(products.sql).toHaveLength(1);
    expect(products.sql[0]).toMatch(/^SELECT .* FROM "public"\."products" WHERE .* IN \(/);

    const entities = response.data?._entities ?? [];
    expect(entities).toHaveLength(52);
    expect(entities.map((entity) => entity?.id ?? null)).toEqual(
      requested.map((id) => (id === unknownA || id === unknownB ? null : id)),
    );
    expect(entities.filter((entity) => entity?.active === false)).toHaveLength(5);
    for (const entity of entities) {
      if (entity === null) continue;
      expect(['10.00', '19.99']).toContain(entity.price.amount);
      expect(entity.price.currency).toBe('USD');
    }
  });

  it('resolves the same id asked for twice, and malformed ids as null, still in one query', async () => {
    const [first, second] = ids;
    products.sql.length = 0;
    const response = await products.post<{ _entities: (EntityJson | null)[] }>(
      ENTITIES,
      { representations: representations([first ?? '', 'not-a-uuid', second ?? '', first ?? '']) },
      'admin',
    );

    expect(response.errors).toBeUndefined();
    expect(response.data?._entities.map((entity) => entity?.id ?? null)).toEqual([
      first,
      null,
      second,
      first,
    ]);
    expect(products.sql).toHaveLength(1);
  });

  it('resolves active references for anonymous callers and customers alike', async () => {
    const id = ids[1];
    for (const caller of ['anonymous', 'customer'] as const) {
      const result = await products.post<{ _entities: (EntityJson | null)[] }>(
        ENTITIES,
        { representations: representations([id ?? '']) },
        caller,
      );
      expect(result.errors).toBeUndefined();
      expect(result.data?._entities[0]?.id).toBe(id);
    }
  });

  it('hides inactive products from anonymous callers and customers sent straight to the subgraph, as queries do', async () => {
    const inactive = ids.filter((_, i) => i % 10 === 0);
    for (const caller of ['anonymous', 'customer'] as const) {
      const result = await products.post<{ _entities: (EntityJson | null)[] }>(
        ENTITIES,
        { representations: representations([...inactive, ids[1] ?? '']) },
        caller,
      );
      expect(result.errors).toBeUndefined();
      expect(result.data?._entities).toEqual([
        ...inactive.map(() => null),
        expect.objectContaining({ id: ids[1] }),
      ]);
    }
  });

  it('resolves inactive products for admins, and for the gateway (its plans follow references other subgraphs handed out)', async () => {
    const inactive = ids.filter((_, i) => i % 10 === 0);
    for (const caller of ['admin', 'gateway'] as const) {
      const result = await products.post<{ _entities: (EntityJson | null)[] }>(
        ENTITIES,
        { representations: representations(inactive) },
        caller,
      );
      expect(result.errors).toBeUndefined();
      expect(result.data?._entities.map((entity) => entity?.active)).toEqual(inactive.map(() => false));
    }
  });

  it('does not believe a client-made gateway header', async () => {
    const [inactive] = ids;
    const response = await fetch(products.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-shop-forwarded-client': `203.0.113.10;${Math.floor(Date.now() / 1000)};bm90IGEgc2lnbmF0dXJl`,
      },
      body: JSON.stringify({
        query: ENTITIES,
        variables: { representations: representations([inactive ?? '']) },
      }),
    });
    expect(((await response.json()) as { data: { _entities: unknown[] } }).data._entities).toEqual([null]);
  });
});
