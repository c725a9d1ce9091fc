import { defineConfig } from 'vitest/config'

// Two projects: `unit` (no broker, next to the code) and `integration` (test/, real broker started by
// the global setup unless KAFKA_BROKERS points at one). Integration files run one at a time: they
// share one broker on a 2-core machine.
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['**/*.test.ts', '**/*.test.tsx'],
          exclude: ['test/**', 'node_modules/**', '.cache/**', 'dashboard/dist/**'],
          // Not a speed check (benchmarks do that): vitest's 5 s default made the heaviest driver
          // runs (e.g. the commerce reference without a cache, ~240k window updates) fail on a busy
          // CI machine while their results were right.
          testTimeout: 60_000
        }
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000
        }
      }
    ]
  }
})
