import { eventsMigrationsDir } from '@shop/events';
import type { AnySubgraph } from './definition';

/**
 * Every migrations folder of a Postgres subgraph, merged by the runner in migration-name order: the events
 * tables every Postgres subgraph carries (outbox, processed events; shipped once by @shop/events), then its own.
 */
export function subgraphMigrations(definition: AnySubgraph): string[] {
  return definition.migrationsDir ? [eventsMigrationsDir, definition.migrationsDir] : [];
}
