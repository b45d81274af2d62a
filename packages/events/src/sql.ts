/**
 * The slice of a Prisma client (or interactive-transaction client) the kit needs: tagged-template raw SQL.
 * Structural, so any subgraph's generated client fits without the kit knowing its models.
 */
export interface RawSqlExecutor {
  $executeRaw(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<number>;
}

/** A Prisma client's interactive transactions; `Tx` is inferred from the client, models included. */
export interface TransactionRunner<Tx> {
  $transaction<R>(fn: (tx: Tx) => Promise<R>): Promise<R>;
}
