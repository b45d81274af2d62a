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
    // Entities resolve inactive products too: an old order still shows what was bought.
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
    const response = await products.post<{ _entities: (EntityJson | null)[] }>(ENTITIES, {
      representations: representations(requested),
    });

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
    const response = await products.post<{ _entities: (EntityJson | null)[] }>(ENTITIES, {
      representations: representations([first ?? '', 'not-a-uuid', second ?? '', first ?? '']),
    });

    expect(response.errors).toBeUndefined();
    expect(response.data?._entities.map((entity) => entity?.id ?? null)).toEqual([
      first,
      null,
      second,
      first,
    ]);
    expect(products.sql).toHaveLength(1);
  });

  it('resolves references for anonymous callers and customers alike', async () => {
    const [id] = ids;
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
});
