import { defineConfig } from 'tsup';
import { createTsupConfig } from '../../tsup.shared.js';

// clean: false keeps dist/host (the published .NET host); scripts/build-host.mjs skips it when up to date.
export default defineConfig(createTsupConfig(['src/index.ts'], { clean: false }));
