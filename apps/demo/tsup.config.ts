import { defineConfig } from 'tsup';
import { createTsupConfig } from '../../tsup.shared.js';

export default defineConfig(createTsupConfig(['src/cli.ts', 'src/index.ts']));
