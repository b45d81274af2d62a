import { DependencyUnavailable } from '@shop/kit';
import { z } from 'zod';

/** A product as other subgraphs see it: what carts and orders price and check lines with. */
export interface CatalogProduct {
  id: string;
  sku: string;
  name: string;
  /** Exact, two decimals: "19.99". */
  price: { amount: string; currency: string };
  active: boolean;
}

/**
 * The products subgraph did not answer (down, slow, or answered garbage): callers degrade (the cart shows last
 * known prices) or let it reach the client as SERVICE_UNAVAILABLE (formatError).
 */
export class ProductCatalogUnavailable extends DependencyUnavailable {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('product catalogue', reason, options);
    this.name = 'ProductCatalogUnavailable';
  }
}

const ENTITIES = `query CatalogProducts($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Product { id sku name active price { amount currency } }
  }
}`;

const answer = z.object({
  data: z.object({
    _entities: z.array(
      z
        .object({
          id: z.string(),
          sku: z.string(),
          name: z.string(),
          active: z.boolean(),
          price: z.object({ amount: z.string(), currency: z.string() }),
        })
        .nullable(),
    ),
  }),
});

/** `PRODUCTS_URL`, for the env of a subgraph that prices or checks products (`own` in subgraphEnv). */
export const productCatalogEnv = {
  PRODUCTS_URL: z.url().default('http://localhost:3002/graphql'),
};

export interface ProductCatalogOptions {
  /** The products subgraph's /graphql (PRODUCTS_URL). */
  url: string;
  /** Give up on an answer after this long (default 2 s). */
  timeoutMs?: number;
  /** Serve answers this young from memory (default 0: always ask; orders must price with current data). */
  cacheTtlMs?: number;
}

export interface CatalogRequestOptions {
  /**
   * The caller's own access token, forwarded as `Authorization: Bearer`: products then answers as it would
   * answer that caller (an admin also sees inactive products). Such answers bypass the cache both ways, so
   * one caller's view never reaches another.
   */
  token?: string | undefined;
}

/**
 * How a subgraph reads products from the products subgraph: one `_entities` request per call, whatever the
 * number of ids (products resolves references in one SQL query). Unknown ids are absent from the answer, and
 * so are inactive ones unless `token` is an admin's. With `cacheTtlMs`, recent anonymous answers are reused;
 * `forget(id)` drops one (on `product.changed`).
 */
export class ProductCatalog {
  private readonly cache = new Map<string, { product: CatalogProduct | null; until: number }>();

  constructor(private readonly options: ProductCatalogOptions) {}

  async products(
    ids: readonly string[],
    request: CatalogRequestOptions = {},
  ): Promise<Map<string, CatalogProduct>> {
    // An answer for a token is that caller's view: never served from, nor kept in, the shared cache.
    const shared = request.token === undefined;
    const now = Date.now();
    const found = new Map<string, CatalogProduct>();
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const cached = shared ? this.cache.get(id) : undefined;
      if (cached && cached.until > now) {
        if (cached.product) found.set(id, cached.product);
      } else missing.push(id);
    }
    if (missing.length === 0) return found;
    const fetched = await this.fetch(missing, request.token);
    const until = now + (this.options.cacheTtlMs ?? 0);
    missing.forEach((id, i) => {
      const product = fetched[i] ?? null;
      if (product) found.set(id, product);
      if (shared && this.options.cacheTtlMs) this.cache.set(id, { product, until });
    });
    return found;
  }

  /** Drops what is remembered of a product (it changed). */
  forget(productId: string): void {
    this.cache.delete(productId);
  }

  private async fetch(ids: string[], token?: string): Promise<(CatalogProduct | null)[]> {
    let response: Response;
    try {
      response = await fetch(this.options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
        body: JSON.stringify({
          query: ENTITIES,
          variables: { representations: ids.map((id) => ({ __typename: 'Product', id })) },
        }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 2_000),
      });
    } catch (error) {
      throw new ProductCatalogUnavailable(error instanceof Error ? error.message : String(error), {
        cause: error,
      });
    }
    if (!response.ok) throw new ProductCatalogUnavailable(`HTTP ${response.status}`);
    const parsed = answer.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) throw new ProductCatalogUnavailable('an answer without products');
    return parsed.data.data._entities;
  }
}
