#!/usr/bin/env node
// `npm run demo`: set up what is missing, build (including the .NET hosts), then start the
// tutorial server in this same process, so Ctrl-C and SIGTERM reach it directly.
// Arguments after `--` go to the server: `npm run demo -- --port 8080`.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runPnpm } from './pnpm.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
runPnpm(['install', '--frozen-lockfile', '--prefer-offline', '--reporter=silent']);
console.log(
  '[demo] building (the first time, restoring NuGet packages and publishing the PowerShell and C# hosts takes a few minutes)',
);
runPnpm([
  'exec',
  'turbo',
  'run',
  'build',
  '--filter=@kr/demo...',
  '--output-logs=errors-only',
  '--log-prefix=none',
]);
await import(pathToFileURL(join(root, 'apps', 'demo', 'dist', 'cli.js')).href);
