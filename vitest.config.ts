import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// graphql 16 ships CJS (main) and ESM (module) builds. Node loads the CJS one for everybody, Vite would give
// our files the ESM one while Apollo's CJS code requires the other: two GraphQLScalarType classes. One copy.
const graphqlEntry = createRequire(import.meta.url).resolve('graphql');

// Three kinds of test (STYLE.md §6): pure logic, real infrastructure, the whole supergraph; and fault drills.
// Integration and e2e tests share one global setup that brings the real services up (idempotent).
//
// Workers: most integration and e2e files spend their time waiting (subgraph start-up, Kafka, Postgres), and each
// has its own databases, topic and key prefixes and ports, so two files run at once (vitest's default here is
// one: cores - 1). The drills start their own broker and every subgraph as processes and time faults against
// a load: they run afterwards, alone (their own sequence group, one worker).
// Isolation off outside the drills: a worker keeps the modules it has loaded (Apollo, Prisma's clients, the
// subgraphs) from one file to the next instead of loading them again for every file (import time ~520 s -> ~60 s
// over the suite). Nothing a test sets survives in a module: every file starts its own servers, databases and
// prefixes and stops them.
const sharedWorkers = 2;

export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: graphqlEntry }] },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          maxWorkers: sharedWorkers,
          isolate: false,
          include: ['{packages,subgraphs,gateway}/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/*.int.test.ts', '**/*.e2e.test.ts', '**/*.drill.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          maxWorkers: sharedWorkers,
          isolate: false,
          include: ['{packages,subgraphs,gateway}/**/*.int.test.ts'],
          exclude: ['**/node_modules/**'],
          globalSetup: ['packages/testing/src/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          maxWorkers: sharedWorkers,
          isolate: false,
          include: ['{packages,subgraphs,gateway}/**/*.e2e.test.ts'],
          exclude: ['**/node_modules/**'],
          globalSetup: ['packages/testing/src/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          // Fault drills: the whole supergraph as processes over its own Kafka and Redis, faults injected.
          name: 'drills',
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
          include: ['{packages,subgraphs,gateway}/**/*.drill.test.ts'],
          exclude: ['**/node_modules/**'],
          globalSetup: ['packages/testing/src/global-setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
