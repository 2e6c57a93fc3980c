import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{core,policy,sdk,bench}/test/**/*.test.ts', 'instrumentations/*/test/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'threads',
  },
});
