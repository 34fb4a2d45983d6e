#!/usr/bin/env node
// Publishes the echo test host (dotnet/Kr.Host.TestHost) into dist/test-host for this package's tests.
// Skips in a second when the sources are unchanged; fails loudly when the .NET SDK is missing.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runDotnetPublish } from '../dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
try {
  runDotnetPublish({
    project: join(root, 'dotnet/Kr.Host.TestHost/Kr.Host.TestHost.csproj'),
    outDir: join(root, 'dist/test-host'),
    inputs: [join(root, 'dotnet')],
    output: 'kr-test-host.dll',
  });
} catch (error) {
  console.error(`@kr/dotnet-host: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
