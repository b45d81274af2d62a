import { infraUp } from '@shop/infra';
import { dropLeftoverTestDatabases } from './database';

/**
 * Integration and e2e tests run against the real services: bring them up (a no-op when they answer) and
 * clear databases a crashed earlier run left behind. Services stay up afterwards for the next run;
 * `pnpm infra:down` stops what was started.
 */
export default async function setup(): Promise<void> {
  await infraUp({ progress: (message) => console.log(`[infra] ${message}`) });
  await dropLeftoverTestDatabases();
}
