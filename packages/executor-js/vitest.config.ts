import { defineProject } from 'vitest/config';

export default defineProject({ test: { name: 'executor-js', include: ['test/**/*.test.ts'] } });
