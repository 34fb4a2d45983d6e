import { defineConfig } from 'tsup';
import { createTsupConfig } from '../../tsup.shared.js';

// clean: false keeps dist/echo-host (the published .NET test host) between builds; the script skips it when up to date.
export default defineConfig(createTsupConfig(['src/index.ts'], { clean: false }));
