import { defineConfig } from 'vitest/config';

// One vitest run over every workspace package, so `npm test` ends with one summary.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*'],
    reporters: ['default', 'json'],
    outputFile: { json: '.test-results.json' },
  },
});
