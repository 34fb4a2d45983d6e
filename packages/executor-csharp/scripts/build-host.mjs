#!/usr/bin/env node
// Publishes the C#/VB.NET host (dotnet/Kr.CSharp.Host + Kr.Roslyn + the shared Kr.Host) for this
// machine's runtime into dist/host. Skips in a second when the C# sources are unchanged; fails the
// build loudly when the .NET SDK is missing.
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
    project: join(root, 'dotnet/Kr.CSharp.Host/Kr.CSharp.Host.csproj'),
    outDir: join(root, 'dist/host'),
    inputs: [join(root, 'dotnet'), sharedHost],
    output: 'kr-csharp-host.dll',
  });
} catch (error) {
  console.error(`@kr/executor-csharp: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
