import { envModels } from '@shop/kit';
import { z } from 'zod';

/** What a subgraph may opt into besides the server and token verification every subgraph has. */
export type Uses = 'postgres' | 'redis' | 'kafka' | 'smtp' | 'stripe';

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void
  ? I
  : never;
type ServerShape = ReturnType<typeof envModels.server>['shape'];
type ModelsShape<U extends Uses> = [U] extends [never]
  ? object
  : UnionToIntersection<{ [M in U]: (typeof envModels)[M]['shape'] }[U]>;

export type SubgraphEnvShape<U extends Uses, O extends z.ZodRawShape> = ServerShape &
  (typeof envModels.auth)['shape'] &
  (typeof envModels.queryLimits)['shape'] &
  (typeof envModels.subgraphLimits)['shape'] &
  ModelsShape<U> &
  O;

/** A subgraph's env: its default port, the models it uses and its own keys, as one zod schema. */
export interface SubgraphEnv<U extends Uses = Uses, O extends z.ZodRawShape = z.ZodRawShape> {
  port: number;
  uses: readonly U[];
  schema: z.ZodObject<SubgraphEnvShape<U, O>>;
}

export type ConfigOf<E extends SubgraphEnv> = z.infer<E['schema']>;

/**
 * The env schema of one subgraph: server settings (PORT defaults to `port`), token verification, query limits
 * and the request deadline (cost-limit.ts, deadline.ts in the kit), the models
 * named in `uses` (postgres, redis, kafka, smtp, stripe) and the subgraph's own keys. The launcher opens what
 * `uses` names (a Prisma adapter, a Redis client, a Kafka connection) and `pnpm infra:up` creates the database.
 */
export function subgraphEnv<
  const U extends readonly Uses[],
  O extends z.ZodRawShape = Record<never, never>,
>(options: { port: number; uses: U; own?: O }): SubgraphEnv<U[number], O> {
  const shapes = options.uses.map((model) => envModels[model].shape);
  const schema = z.object(
    Object.assign(
      {},
      envModels.server(options.port).shape,
      envModels.auth.shape,
      envModels.queryLimits.shape,
      envModels.subgraphLimits.shape,
      ...shapes,
      options.own ?? {},
    ),
  );
  // zod cannot follow a shape assembled from a list; its keys are exactly SubgraphEnvShape's.
  return {
    port: options.port,
    uses: options.uses,
    schema: schema as unknown as SubgraphEnv<U[number], O>['schema'],
  };
}
