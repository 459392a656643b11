import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'e2e/**', '.next/**', '.fm-agent/**', '.dev-scratch/**'],
    // integration tests drive real processes (CLI, workers, servers) on a 2-core machine
    testTimeout: 240_000,
    hookTimeout: 120_000,
    // database and process tests share a 2-core machine; keep their number bounded
    maxWorkers: 2,
    pool: 'forks',
    globalSetup: ['test-support/global-setup.ts'],
  },
})
