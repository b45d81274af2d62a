import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// graphql 16 ships CJS (main) and ESM (module) builds. Node loads the CJS one for everybody, Vite would give
// our files the ESM one while Apollo's CJS code requires the other: two GraphQLScalarType classes. One copy.
const graphqlEntry = createRequire(import.meta.url).resolve('graphql');

// Three kinds of test (STYLE.md §6): pure logic, real infrastructure, the whole supergraph; and fault drills.
// Integration and e2e tests share one global setup that brings the real services up (idempotent).
export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: graphqlEntry }] },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['{packages,subgraphs,gateway}/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/*.int.test.ts', '**/*.e2e.test.ts', '**/*.drill.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
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
