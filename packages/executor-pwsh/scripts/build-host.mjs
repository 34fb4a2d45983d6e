#!/usr/bin/env node
// Publishes the PowerShell host (dotnet/Kr.Pwsh.Host + the shared Kr.Host) for this machine's runtime
// into dist/host, with the SDK's built-in modules under dist/host/Modules. Skips in a second when the
// C# sources are unchanged; fails the build loudly when the .NET SDK is missing.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publishScriptHost } from '@kr/dotnet-host';

publishScriptHost({
  packageName: '@kr/executor-pwsh',
  packageRoot: join(dirname(fileURLToPath(import.meta.url)), '..'),
  project: 'dotnet/Kr.Pwsh.Host/Kr.Pwsh.Host.csproj',
  output: 'kr-pwsh-host.dll',
});
