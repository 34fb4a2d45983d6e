#!/usr/bin/env node
// Publishes the C#/VB.NET host (dotnet/Kr.CSharp.Host + Kr.Roslyn + the shared Kr.Host) for this
// machine's runtime into dist/host. Skips in a second when the C# sources are unchanged; fails the
// build loudly when the .NET SDK is missing.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publishScriptHost } from '@kr/dotnet-host';

publishScriptHost({
  packageName: '@kr/executor-csharp',
  packageRoot: join(dirname(fileURLToPath(import.meta.url)), '..'),
  project: 'dotnet/Kr.CSharp.Host/Kr.CSharp.Host.csproj',
  output: 'kr-csharp-host.dll',
});
