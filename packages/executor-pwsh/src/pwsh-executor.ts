import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHostExecutor } from '@kr/dotnet-host';
import type { HostExecutor, HostLogEntry, HostSupervisorOptions } from '@kr/dotnet-host';

/** Options of {@link createPwshExecutor}. Every one has a default. */
export interface PwshExecutorOptions {
  /** Warm runspaces, and so tasks running at once (the service queues the rest). Default 8. */
  poolSize?: number;
  /** The published host dll. Default: `dist/host/kr-pwsh-host.dll` of this package. */
  hostPath?: string;
  /** The `dotnet` executable. Default `$DOTNET` or `dotnet` on PATH. */
  dotnet?: string;
  /** Result JSON depth; deeper values become their ToString(). Default 8. */
  resultDepth?: number;
  /** Output records a task may send before the host drops (and counts) the rest. Default 10,000. */
  maxOutputRecords?: number;
  /** Host stdout/stderr lines and supervisor notes. Default: dropped (a ring buffer feeds failure messages). */
  log?: (entry: HostLogEntry) => void;
  /** Fine-tuning of the supervisor (restart backoff, heartbeat, start timeout). */
  supervisor?: Pick<
    HostSupervisorOptions,
    'restart' | 'heartbeat' | 'startTimeoutMs' | 'shutdownGraceMs' | 'autoStart'
  >;
  /** A forceStop the host does not confirm in time recycles the host. Default 3000 ms. */
  forceStopTimeoutMs?: number;
}

/** The PowerShell executor: an Executor plus its host's `ready()` and supervisor. */
export type PwshExecutor = HostExecutor;

/** Accepted spellings of PowerShell. */
export const POWERSHELL_ALIASES = { pwsh: 'powershell', ps: 'powershell', ps1: 'powershell' } as const;

/** Where this package's build put the host. */
export function getPwshHostPath(): string {
  // dist/index.js -> dist/host; src/pwsh-executor.ts (tests from source) -> dist/host too.
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    join(here, 'host', 'kr-pwsh-host.dll'),
    join(here, '..', 'dist', 'host', 'kr-pwsh-host.dll'),
  ];
  return candidates.find((path) => existsSync(path)) ?? candidates[0]!;
}

/**
 * Creates the PowerShell executor: a supervised .NET 10 host running PowerShell 7.6 on a pool of warm
 * runspaces. The host starts at once (so the pool is warm by the first task) and restarts with backoff
 * if it dies.
 *
 * @example
 * const pwsh = createPwshExecutor({ poolSize: 8 });
 * const service = createTaskService({ executors: [pwsh] });
 * const id = await service.create({ language: 'powershell', code: "param($name) \"Hello, $name\"", args: { name: 'World' } });
 * service.start(id);
 * const done = await service.wait(id); // done.result === 'Hello, World'
 */
export function createPwshExecutor(options: PwshExecutorOptions = {}): PwshExecutor {
  const poolSize = options.poolSize ?? 8;
  if (!Number.isInteger(poolSize) || poolSize < 1)
    throw new RangeError(`poolSize must be a positive integer, got ${poolSize}.`);
  const hostPath = options.hostPath ?? getPwshHostPath();
  const env: Record<string, string> = {
    KR_PWSH_POOL_SIZE: String(poolSize),
    DOTNET_CLI_TELEMETRY_OPTOUT: '1',
  };
  if (options.resultDepth !== undefined) env.KR_PWSH_RESULT_DEPTH = String(options.resultDepth);
  if (options.maxOutputRecords !== undefined) env.KR_HOST_MAX_RECORDS = String(options.maxOutputRecords);
  return createHostExecutor({
    name: 'pwsh',
    languages: ['powershell'],
    aliases: POWERSHELL_ALIASES,
    maxConcurrency: poolSize,
    // A PowerShell prepare depends on the code alone (parse + param names), so repeats skip the round trip.
    prepareCache: { key: (request) => request.code },
    ...(options.forceStopTimeoutMs !== undefined ? { forceStopTimeoutMs: options.forceStopTimeoutMs } : {}),
    host: {
      name: 'PowerShell host',
      command: options.dotnet ?? process.env.DOTNET ?? 'dotnet',
      args: [hostPath],
      env,
      ...(options.log ? { log: options.log } : {}),
      ...options.supervisor,
    },
  });
}
