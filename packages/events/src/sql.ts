/**
 * The slice of a Prisma client (or interactive-transaction client) the kit needs: tagged-template raw SQL.
 * Structural, so any subgraph's generated client fits without the kit knowing its models.
 */
export interface RawSqlExecutor {
  $executeRaw(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<number>;
}
