import { isRecordNotFound, newestFirst, olderThan, refuseDuplicates } from '@shop/db';
import { type Enqueue, type OutboxTransactionOptions, repositoryTransaction } from '@shop/events';
import { Prisma, type PrismaClient, type Product } from './generated/prisma/client';

/** A catalogue product as the rest of the subgraph sees it: no Prisma types, money as an exact string. */
export interface ProductRecord {
  id: string;
  name: string;
  description: string | null;
  sku: string;
  /** Exact, always two decimals: "19.90". */
  price: string;
  currency: string;
  active: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** Which products a list or a count covers. */
export interface ProductFilter {
  includeInactive: boolean;
  /** Text that the name, SKU or description must contain, ignoring case. */
  search?: string | undefined;
}

/** Where a keyset page starts: strictly after this (createdAt, id), newest first. */
export interface ProductPosition {
  createdAt: Date;
  id: string;
}

export interface NewProduct {
  name: string;
  sku: string;
  price: string;
  currency: string;
  description: string | null;
}

/** Only the fields present change; `description: null` clears it. */
export interface ProductChanges {
  name?: string;
  description?: string | null;
  price?: string;
  active?: boolean;
}

function toRecord(row: Product): ProductRecord {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    sku: row.sku,
    price: row.price.toFixed(2),
    currency: row.currency,
    active: row.active,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

// ILIKE treats % and _ as wildcards and Prisma's `contains` passes them through: escape them so a search
// for "100%" means the text "100%".
function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}

function whereOf(filter: ProductFilter): Prisma.ProductWhereInput {
  const where: Prisma.ProductWhereInput = filter.includeInactive ? {} : { active: true };
  if (filter.search === undefined) return where;
  const contains = { contains: likeLiteral(filter.search), mode: 'insensitive' } as const;
  return { ...where, OR: [{ name: contains }, { sku: contains }, { description: contains }] };
}

type Db = PrismaClient | Prisma.TransactionClient;

/** The products table; the only code of this subgraph that talks to Prisma. */
export class ProductsRepository {
  /** `outbox` is given to the root repository; the ones `transaction` hands out are bound to its transaction. */
  constructor(
    private readonly prisma: Db,
    private readonly outbox?: OutboxTransactionOptions,
  ) {}

  /**
   * Runs `work` in one database transaction with a repository bound to it and `enqueue` for the events it
   * describes: the rows and the events commit together (the transactional outbox) or not at all.
   */
  transaction<R>(work: (repository: ProductsRepository, enqueue: Enqueue) => Promise<R>): Promise<R> {
    return repositoryTransaction(this.prisma, this.outbox, (tx) => new ProductsRepository(tx), work);
  }

  async findById(id: string): Promise<ProductRecord | null> {
    const row = await this.prisma.product.findUnique({ where: { id } });
    return row === null ? null : toRecord(row);
  }

  /** Every product among `ids` that exists, in no particular order, in one query. */
  async findByIds(ids: readonly string[]): Promise<ProductRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.prisma.product.findMany({ where: { id: { in: [...ids] } } });
    return rows.map(toRecord);
  }

  /** Up to `take` products newest first (createdAt desc, id desc), strictly after `after` when given. */
  async list(filter: ProductFilter, take: number, after?: ProductPosition): Promise<ProductRecord[]> {
    const where = whereOf(filter);
    const rows = await this.prisma.product.findMany({
      where: { AND: [where, olderThan(after)] },
      orderBy: newestFirst(),
      take,
    });
    return rows.map(toRecord);
  }

  count(filter: ProductFilter): Promise<number> {
    return this.prisma.product.count({ where: whereOf(filter) });
  }

  /** @throws UniqueViolation when another product has this SKU. */
  async create(product: NewProduct): Promise<ProductRecord> {
    const row = await refuseDuplicates(() =>
      this.prisma.product.create({ data: { ...product, price: new Prisma.Decimal(product.price) } }),
    );
    return toRecord(row);
  }

  /** The changed product, or null when no product has this id. */
  async update(id: string, changes: ProductChanges): Promise<ProductRecord | null> {
    const { price, ...rest } = changes;
    try {
      return toRecord(
        await this.prisma.product.update({
          where: { id },
          data: { ...rest, ...(price === undefined ? {} : { price: new Prisma.Decimal(price) }) },
        }),
      );
    } catch (error) {
      if (isRecordNotFound(error)) return null;
      throw error;
    }
  }

  /** Creates the product, or brings the one with the same SKU to these values (the demo seed). */
  async upsertBySku(product: NewProduct & { active: boolean }): Promise<ProductRecord> {
    const data = { ...product, price: new Prisma.Decimal(product.price) };
    return toRecord(
      await this.prisma.product.upsert({ where: { sku: product.sku }, create: data, update: data }),
    );
  }
}
