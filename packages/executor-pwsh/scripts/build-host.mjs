#!/usr/bin/env node
// Publishes the PowerShell host (dotnet/Kr.Pwsh.Host + the shared Kr.Host) for this machine's runtime
// into dist/host, with the SDK's built-in modules under dist/host/Modules. Skips in a second when the
// C# sources are unchanged; fails the build loudly when the .NET SDK is missing.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runDotnetPublish } from '@kr/dotnet-host';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The shared half (Kr.Host) is a ProjectReference: its sources decide a rebuild too.
const sharedHost = join(
  dirname(fileURLToPath(import.meta.resolve('@kr/dotnet-host'))),
  '..',
  'dotnet',
  'Kr.Host',
);
try {
  runDotnetPublish({
    project: join(root, 'dotnet/Kr.Pwsh.Host/Kr.Pwsh.Host.csproj'),
    outDir: join(root, 'dist/host'),
    inputs: [join(root, 'dotnet'), sharedHost],
    output: 'kr-pwsh-host.dll',
  });
} catch (error) {
  console.error(`@kr/executor-pwsh: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
