import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Files share one PostgreSQL server; each file gets its own database, so files can run in parallel.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
