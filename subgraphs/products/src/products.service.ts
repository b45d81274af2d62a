import { UniqueViolation } from '@shop/db';
import {
  type ClientInfo,
  type Connection,
  conflict,
  type Logger,
  newestFirstPage,
  notFound,
  type PageArgs,
  parseInput,
  requireAdmin,
  type Viewer,
} from '@shop/kit';
import { z } from 'zod';
import { productChanged } from './events/publish';
import type { ProductChanges, ProductFilter, ProductRecord, ProductsRepository } from './products.repository';

export interface ProductsSettings {
  /** ISO 4217 currency of new products' prices. */
  defaultCurrency: string;
}

/** A page of products; the total is counted only when asked for. */
export interface ProductList extends Connection<ProductRecord> {
  countTotal: () => Promise<number>;
}

export interface ProductListArgs extends PageArgs {
  search?: string | null | undefined;
}

export interface CreateProductInput {
  name: string;
  sku: string;
  price: string;
  description?: string | null | undefined;
}

export interface UpdateProductInput {
  name?: string | null | undefined;
  description?: string | null | undefined;
  price?: string | null | undefined;
  active?: boolean | null | undefined;
}

// Decimal(12,2) holds at most 10 digits before the point.
const MAX_INTEGER_DIGITS = 10;

const name = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');
const description = z
  .string()
  .trim()
  .max(5000, 'must be at most 5000 characters')
  .transform((text) => (text === '' ? null : text));
const sku = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z0-9-]{1,64}$/, 'must be 1 to 64 letters, digits or dashes');
// Checked on the decimal text itself: money never goes through a float.
const price = z
  .string()
  .regex(/^-?\d+(\.\d+)?$/, { error: 'must be a decimal number such as "19.99"', abort: true })
  .refine((text) => !text.startsWith('-') && /[1-9]/.test(text), 'must be greater than 0')
  .refine((text) => (text.split('.')[1] ?? '').length <= 2, 'must have at most 2 decimals')
  .refine(
    (text) => (text.split('.')[0] ?? '').replace(/^-?0+(?=\d)/, '').length <= MAX_INTEGER_DIGITS,
    `must be less than 1${'0'.repeat(MAX_INTEGER_DIGITS)}`,
  );

export const createProductSchema = z.object({ name, sku, price, description: description.nullish() });
// A left-out field stays as it is; null is refused where a product cannot lack the field, and clears a description.
export const updateProductSchema = z.object({
  name: name.optional(),
  description: description.nullish(),
  price: price.optional(),
  active: z.boolean().optional(),
});
const productId = z.object({ id: z.guid('must be a UUID') });
const searchText = z.object({
  search: z
    .string()
    .trim()
    .max(200, 'must be at most 200 characters')
    .nullish()
    .transform((text) => (text ? text : undefined)),
});

/**
 * The catalogue's rules: who may see and change which products, and what a valid product is. Knows nothing
 * of GraphQL; throws coded AppErrors.
 */
export class ProductsService {
  constructor(
    private readonly repository: ProductsRepository,
    private readonly settings: ProductsSettings,
    private readonly logger: Logger,
  ) {}

  /** A product the viewer may see: inactive ones only for admins. A malformed id is BAD_USER_INPUT. */
  async product(viewer: Viewer | undefined, id: string): Promise<ProductRecord | null> {
    parseInput(productId, { id });
    const product = await this.repository.findById(id);
    if (product === null || (!product.active && !isAdmin(viewer))) return null;
    return product;
  }

  /**
   * A product another subgraph referenced (`_entities`), with the visibility of `product`: inactive ones only for
   * admins, or when the gateway asks (`viaGateway`: its plans follow references another subgraph handed out
   * under its own rules, such as an old order's items). Sent straight to this subgraph, `_entities` is no way
   * around the catalogue's visibility.
   */
  referencedProduct(
    viewer: Viewer | undefined,
    client: ClientInfo,
    product: ProductRecord | null,
  ): ProductRecord | null {
    if (product === null || product.active || isAdmin(viewer) || client.viaGateway) return product;
    return null;
  }

  /** The catalogue newest first, paginated by keyset; inactive products only for admins. */
  async products(viewer: Viewer | undefined, args: ProductListArgs): Promise<ProductList> {
    const { search } = parseInput(searchText, { search: args.search });
    const filter: ProductFilter = { includeInactive: isAdmin(viewer), search };
    return {
      ...(await newestFirstPage(args, (take, after) => this.repository.list(filter, take, after))),
      countTotal: () => this.repository.count(filter),
    };
  }

  async createProduct(viewer: Viewer | undefined, input: CreateProductInput): Promise<ProductRecord> {
    const admin = requireAdmin(viewer);
    const valid = parseInput(createProductSchema, input);
    const product = await this.repository
      .transaction(async (repository, enqueue) => {
        const created = await repository.create({
          name: valid.name,
          sku: valid.sku,
          price: valid.price,
          description: valid.description ?? null,
          currency: this.settings.defaultCurrency,
        });
        await enqueue(productChanged(created, 'CREATED'));
        return created;
      })
      .catch((error: unknown) => {
        if (error instanceof UniqueViolation) {
          throw conflict(`A product with SKU ${valid.sku} already exists`, { field: 'sku' });
        }
        throw error;
      });
    this.logger.info({ productId: product.id, sku: product.sku, by: admin.userId }, 'product created');
    return product;
  }

  async updateProduct(
    viewer: Viewer | undefined,
    id: string,
    input: UpdateProductInput,
  ): Promise<ProductRecord> {
    const admin = requireAdmin(viewer);
    parseInput(productId, { id });
    const valid = parseInput(updateProductSchema, input);
    const changes: ProductChanges = {
      ...(valid.name === undefined ? {} : { name: valid.name }),
      ...(valid.description === undefined ? {} : { description: valid.description }),
      ...(valid.price === undefined ? {} : { price: valid.price }),
      ...(valid.active === undefined ? {} : { active: valid.active }),
    };
    const product = await this.repository.transaction(async (repository, enqueue) => {
      const updated = await repository.update(id, changes);
      if (updated !== null) await enqueue(productChanged(updated, 'UPDATED'));
      return updated;
    });
    if (product === null) throw notFound('Product', id);
    this.logger.info({ productId: id, fields: Object.keys(changes), by: admin.userId }, 'product updated');
    return product;
  }
}

function isAdmin(viewer: Viewer | undefined): boolean {
  return viewer?.role === 'ADMIN';
}
