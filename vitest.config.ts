import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Every test file runs with reads beside the repository refused (a user's clone has no siblings).
    setupFiles: ['test/support/repo-boundary.ts'],
    reporters: ['default'],
  },
});
