import { defineConfig } from 'vitest/config';

// Three kinds of test (STYLE.md §6): pure logic, real infrastructure, the whole supergraph.
// Integration and e2e tests share one global setup that brings the real services up (idempotent).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{packages,subgraphs,gateway}/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/*.int.test.ts', '**/*.e2e.test.ts'],
        },
      },
      {
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
        test: {
          name: 'e2e',
          include: ['{packages,subgraphs,gateway}/**/*.e2e.test.ts'],
          exclude: ['**/node_modules/**'],
          globalSetup: ['packages/testing/src/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
