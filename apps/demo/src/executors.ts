import type { Executor } from '@kr/core';
import type { HostLogEntry } from '@kr/dotnet-host';
import { createCSharpExecutor } from '@kr/executor-csharp';
import { createPwshExecutor } from '@kr/executor-pwsh';
import type { Logger } from 'pino';

/** Host stdout/stderr and supervisor notes (restarts, exits) go to the demo's logger. */
const toLogger =
  (logger: Logger) =>
  ({ source, text }: HostLogEntry): void => {
    if (source === 'supervisor') logger.info(text);
    else logger.debug({ source }, text);
  };

/**
 * The tutorial's languages: PowerShell on a warm runspace pool (8, as Kestrun), C# and VB.NET on
 * Roslyn. Each runs in its own supervised .NET host, started now so both are warm by the first request.
 */
export function createDemoExecutors(logger: Logger): Executor[] {
  return [
    createPwshExecutor({ log: toLogger(logger.child({ host: 'pwsh' })) }),
    createCSharpExecutor({ log: toLogger(logger.child({ host: 'csharp' })) }),
  ];
}
