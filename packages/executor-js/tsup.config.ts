import { defineConfig } from 'tsup';
import { createTsupConfig } from '../../tsup.shared.js';

// The worker is its own entry: piscina loads dist/worker.js in each thread.
export default defineConfig(createTsupConfig(['src/index.ts', 'src/worker.ts']));
