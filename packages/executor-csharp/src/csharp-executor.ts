import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHostExecutor } from '@kr/dotnet-host';
import type { HostExecutor, HostLogEntry, HostPrepared, HostSupervisorOptions } from '@kr/dotnet-host';
import type { PrepareRequest, PrepareResult } from '@kr/core';
import { toArgumentSignature } from './argument-signature.js';

/** Options of {@link createCSharpExecutor}. Every one has a default. */
export interface CSharpExecutorOptions {
  /**
   * Tasks running at once (the service queues the rest). Default 16. C# and VB tasks are async code on
   * the host's thread pool, not tied to a fixed pool of workers, so the bound is about CPU contention
   * between compute-heavy scripts rather than a resource count.
   */
  maxConcurrency?: number;
  /** Compiled scripts kept loaded in the host (LRU); evicted ones are unloaded. Default 256. */
  cacheCapacity?: number;
  /** Distinct code + argument-type signatures whose prepare Node remembers (no round trip). Default 1000; 0 disables. */
  prepareCacheEntries?: number;
  /** Result JSON depth; deeper results fail the task. Default 64. */
  maxResultDepth?: number;
  /** Output records a task may send before the host drops (and counts) the rest. Default 10,000. */
  maxOutputRecords?: number;
  /** A forceStop the host does not confirm in time kills and restarts the host. Default 3000 ms. */
  forceStopTimeoutMs?: number;
  /**
   * Replace the host (new host first, then the old one drained and killed) when this many abandoned
   * scripts — force-stopped, but still running inside the host because .NET cannot kill a thread — are
   * alive. Checked after every forced stop. Default `{ abandonedThreshold: 4, drainTimeoutMs: 60000 }`;
   * `false` disables.
   */
  recycle?: { abandonedThreshold?: number; drainTimeoutMs?: number } | false;
  /** The published host dll. Default: `dist/host/kr-csharp-host.dll` of this package. */
  hostPath?: string;
  /** The `dotnet` executable. Default `$DOTNET` or `dotnet` on PATH. */
  dotnet?: string;
  /** Host stdout/stderr lines and supervisor notes. Default: dropped (a ring buffer feeds failure messages). */
  log?: (entry: HostLogEntry) => void;
  /** Fine-tuning of the supervisor (restart backoff, heartbeat, start timeout). */
  supervisor?: Pick<
    HostSupervisorOptions,
    'restart' | 'heartbeat' | 'startTimeoutMs' | 'shutdownGraceMs' | 'autoStart'
  >;
}

/** The C#/VB.NET executor: an Executor plus its host's `ready()` and supervisor. */
export type CSharpExecutor = HostExecutor;

/** Accepted spellings of C# and VB.NET (the canonical names are `csharp` and `vbnet`). */
export const CSHARP_ALIASES = {
  cs: 'csharp',
  'c#': 'csharp',
  csx: 'csharp',
  vb: 'vbnet',
  'vb.net': 'vbnet',
  visualbasic: 'vbnet',
} as const;

/** Where this package's build put the host. */
export function getCSharpHostPath(): string {
  // dist/index.js -> dist/host; src/csharp-executor.ts (tests from source) -> dist/host too.
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    join(here, 'host', 'kr-csharp-host.dll'),
    join(here, '..', 'dist', 'host', 'kr-csharp-host.dll'),
  ];
  // Not built: name dist/host in the error either way.
  return candidates.find((path) => existsSync(path)) ?? candidates[1]!;
}

const positiveInteger = (name: string, value: number, allowZero = false): number => {
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1))
    throw new RangeError(
      `${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${value}.`,
    );
  return value;
};

/**
 * Creates the C#/VB.NET executor: a supervised .NET 10 host compiling scripts with Roslyn (C# scripting,
 * VB as the body of an async function) into collectible load contexts, cached by code + argument types.
 * The host starts at once and warms Roslyn, so the first task does not pay the compiler's JIT.
 *
 * @param options - see {@link CSharpExecutorOptions}; every option has a default.
 * @example
 * const csharp = createCSharpExecutor();
 * const service = createTaskService({ executors: [csharp] });
 * const id = await service.create({ language: 'csharp', code: '$"Hello, {name}!"', args: { name: 'World' } });
 * service.start(id);
 * const done = await service.wait(id); // done.result === 'Hello, World!'
 */
export function createCSharpExecutor(options: CSharpExecutorOptions = {}): CSharpExecutor {
  const maxConcurrency = positiveInteger('maxConcurrency', options.maxConcurrency ?? 16);
  const cacheCapacity = positiveInteger('cacheCapacity', options.cacheCapacity ?? 256);
  const prepareCacheEntries = positiveInteger(
    'prepareCacheEntries',
    options.prepareCacheEntries ?? 1_000,
    true,
  );
  const recycle =
    options.recycle === false
      ? undefined
      : { abandonedThreshold: 4, drainTimeoutMs: 60_000, ...options.recycle };
  if (recycle) positiveInteger('recycle.abandonedThreshold', recycle.abandonedThreshold);

  const env: Record<string, string> = {
    KR_ROSLYN_CACHE_CAPACITY: String(cacheCapacity),
    DOTNET_CLI_TELEMETRY_OPTOUT: '1',
  };
  if (options.maxResultDepth !== undefined)
    env.KR_ROSLYN_MAX_RESULT_DEPTH = String(positiveInteger('maxResultDepth', options.maxResultDepth));
  if (options.maxOutputRecords !== undefined) env.KR_HOST_MAX_RECORDS = String(options.maxOutputRecords);

  const base = createHostExecutor({
    name: 'csharp',
    languages: ['csharp', 'vbnet'],
    aliases: CSHARP_ALIASES,
    maxConcurrency,
    ...(options.forceStopTimeoutMs !== undefined ? { forceStopTimeoutMs: options.forceStopTimeoutMs } : {}),
    host: {
      name: 'C# host',
      command: options.dotnet ?? process.env.DOTNET ?? 'dotnet',
      args: [options.hostPath ?? getCSharpHostPath()],
      env,
      ...(options.log ? { log: options.log } : {}),
      ...options.supervisor,
    },
  });
  const host = base.host;

  // A C# prepare depends on the code AND the argument types (they become typed locals), so the Node-side
  // cache keys on both. It is ours rather than createHostExecutor's so that an evicted entry releases its
  // host handle (the host's own compiled-script cache is bounded separately, by cacheCapacity).
  const prepared = new Map<string, HostPrepared>();
  const shared = new WeakSet<HostPrepared>();
  const toKey = (request: PrepareRequest): string =>
    `${request.language}\0${toArgumentSignature(request.args)}\0${request.code}`;

  const checkAbandoned = async (): Promise<void> => {
    if (!recycle || host.draining > 0) return;
    const health = (await host.request({ t: 'health' }, { timeoutMs: 2_000 })) as Record<string, unknown>;
    const abandoned = typeof health.abandonedRunning === 'number' ? health.abandonedRunning : 0;
    if (abandoned >= recycle.abandonedThreshold) {
      await host.replace({
        drainTimeoutMs: recycle.drainTimeoutMs,
        detail: `${abandoned} abandoned scripts still running`,
      });
    }
  };

  return {
    ...base,
    async prepare(request: PrepareRequest): Promise<PrepareResult<HostPrepared>> {
      if (prepareCacheEntries === 0) return base.prepare(request);
      const key = toKey(request);
      const hit = prepared.get(key);
      if (hit) {
        // Refresh its place: the map's insertion order is the eviction order.
        prepared.delete(key);
        prepared.set(key, hit);
        return { ok: true, prepared: hit };
      }
      const result = await base.prepare(request);
      // Scripts with warnings are not cached, so every create reports them.
      if (result.ok && !result.warnings?.length) {
        prepared.set(key, result.prepared);
        shared.add(result.prepared);
        if (prepared.size > prepareCacheEntries) {
          const [oldestKey, oldest] = prepared.entries().next().value!;
          prepared.delete(oldestKey);
          base.release?.(oldest);
        }
      }
      return result;
    },
    release(value: HostPrepared): void {
      // A cached handle is shared by every task with the same code and argument types; it is released
      // when it leaves the cache.
      if (!shared.has(value)) base.release?.(value);
    },
    async forceStop(taskId: string): Promise<void> {
      await base.forceStop(taskId);
      try {
        await checkAbandoned();
      } catch (error) {
        // The forced stop itself succeeded; a host that cannot answer is the heartbeat's business.
        options.log?.({ source: 'supervisor', text: `abandoned-script check failed: ${String(error)}` });
      }
    },
    async dispose(): Promise<void> {
      prepared.clear();
      await base.dispose();
    },
  };
}
