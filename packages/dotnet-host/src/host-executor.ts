import { isRunCancelled, onRunCancelled, toTaskFailure } from '@kr/core';
import type {
  Executor,
  ExecutorHealth,
  PrepareRequest,
  PrepareResult,
  RunContext,
  RunOutcome,
} from '@kr/core';
import { HostError, isHostError } from './errors.js';
import { parsePrepareBody, parseRunBody } from './from-host.js';
import { createHostSupervisor } from './host-supervisor.js';
import type { HostEvent, HostInfo, HostSupervisor, HostSupervisorOptions } from './host-supervisor.js';

/** What `prepare` hands back to the service: the host's handle plus the code (a restarted host re-parses it). */
export interface HostPrepared {
  readonly handle: string;
  readonly code: string;
}

/** Options of {@link createHostExecutor}. */
export interface HostExecutorOptions {
  /** Executor name for logs and health (`pwsh`, `csharp`). */
  name: string;
  languages: readonly string[];
  aliases?: Readonly<Record<string, string>>;
  /** Tasks run at once; the service queues the rest. */
  maxConcurrency: number;
  /** How to start the host (or an existing supervisor to share). */
  host: HostSupervisorOptions | HostSupervisor;
  /** A forceStop the host does not confirm within this time recycles the host. Default 3000 ms. */
  forceStopTimeoutMs?: number;
  /** Budget of a prepare request once the host is ready. Default 30 s. */
  prepareTimeoutMs?: number;
  /**
   * Remember successful prepares in Node, keyed by `key(request)`, so creating a task whose code was seen
   * before costs no round trip. Only for engines whose prepare depends on nothing but that key (PowerShell:
   * language + code). The host re-parses from the code if it no longer knows a handle. Default: off.
   */
  prepareCache?: { key: (request: PrepareRequest) => string; maxEntries?: number };
}

/** An {@link Executor} backed by a supervised .NET host, plus access to that host. */
export interface HostExecutor extends Executor<HostPrepared> {
  /** The supervisor (for `ready()`, `info`, tests and benchmarks). */
  readonly host: HostSupervisor;
  /** Resolves when the host is warm. */
  ready(): Promise<HostInfo>;
}

const isSupervisor = (value: HostSupervisorOptions | HostSupervisor): value is HostSupervisor =>
  typeof (value as HostSupervisor).ready === 'function';

/**
 * Implements the @kr/core Executor contract over a .NET script host, so a language package only
 * names its languages and how to start its host.
 *
 * - `run` sends one request and streams the task's coalesced events into `context.progress`/`output`;
 *   a host that dies mid-run ends the task Failed with the exit reason ("… exited with signal SIGKILL").
 * - An aborted `context.signal` sends `cancel` at once; `forceStop` asks the host to abandon the task
 *   and recycles the host if it does not answer.
 *
 * @example
 * const executor = createHostExecutor({
 *   name: 'pwsh', languages: ['powershell'], maxConcurrency: 8,
 *   host: { name: 'PowerShell host', command: 'dotnet', args: ['dist/host/kr-pwsh-host.dll'] },
 * });
 * const service = createTaskService({ executors: [executor] });
 */
export function createHostExecutor(options: HostExecutorOptions): HostExecutor {
  const host = isSupervisor(options.host) ? options.host : createHostSupervisor(options.host);
  const forceStopTimeoutMs = options.forceStopTimeoutMs ?? 3_000;
  const prepareTimeoutMs = options.prepareTimeoutMs ?? 30_000;
  const listeners = new Map<string, (event: HostEvent) => void>();
  const forced = new Map<string, () => void>();

  host.onEvent((event) => listeners.get(event.taskId)?.(event));
  const cache = options.prepareCache ? new Map<string, HostPrepared>() : undefined;
  const cacheMax = options.prepareCache?.maxEntries ?? 1_000;

  const toOutcomeError = (error: unknown): RunOutcome => {
    if (isHostError(error)) {
      return { status: 'failed', error: { message: error.message, type: 'HostError', code: error.code } };
    }
    return { status: 'failed', error: toTaskFailure(error) };
  };

  return {
    name: options.name,
    languages: options.languages,
    ...(options.aliases ? { aliases: options.aliases } : {}),
    maxConcurrency: options.maxConcurrency,
    host,
    ready: () => host.ready(),

    async prepare(request: PrepareRequest): Promise<PrepareResult<HostPrepared>> {
      const key = cache ? options.prepareCache!.key(request) : undefined;
      const hit = key === undefined ? undefined : cache!.get(key);
      if (hit) {
        // Refresh its place: the map's insertion order is the eviction order.
        cache!.delete(key!);
        cache!.set(key!, hit);
        return { ok: true, prepared: hit };
      }
      const body = await host.request(
        { t: 'prepare', language: request.language, code: request.code, args: request.args },
        { timeoutMs: prepareTimeoutMs },
      );
      const parsed = parsePrepareBody(body);
      if (!parsed.ok)
        throw new HostError('HOST_REQUEST_FAILED', `Invalid prepare answer: ${parsed.errors.join('; ')}`);
      const { ok, handle, diagnostics } = parsed.value;
      if (!ok || handle === null) return { ok: false, diagnostics };
      const warnings = diagnostics.filter((d) => d.severity === 'warning');
      if (key !== undefined && warnings.length === 0) {
        cache!.set(key, { handle, code: request.code });
        if (cache!.size > cacheMax) cache!.delete(cache!.keys().next().value!);
      }
      return {
        ok: true,
        prepared: { handle, code: request.code },
        ...(warnings.length > 0 ? { warnings } : {}),
      };
    },

    async run(context: RunContext<HostPrepared>): Promise<RunOutcome> {
      const { taskId } = context;
      if (isRunCancelled(context)) return { status: 'cancelled' };
      try {
        await host.ready();
      } catch (error) {
        return toOutcomeError(error);
      }
      if (isRunCancelled(context)) return { status: 'cancelled' };

      let dropped = 0;
      listeners.set(taskId, (event) => {
        if (event.progress) {
          context.progress({
            percentComplete: event.progress.percent,
            statusMessage: event.progress.message,
          });
        }
        if (event.output) for (const record of event.output) context.output(record);
        if (event.dropped !== undefined) dropped = Math.max(dropped, event.dropped);
      });
      // Cancellation goes out at once; the host stops the pipeline without blocking.
      const onAbort = (): void => {
        host.notify({ t: 'cancel', taskId });
      };
      const stopListening = onRunCancelled(context, onAbort);
      // forceStop settles the run without waiting for the host (its late answer is ignored).
      const forcedOutcome = new Promise<RunOutcome>((resolve) =>
        forced.set(taskId, () => resolve({ status: 'cancelled' })),
      );
      try {
        const response = host.request({
          t: 'run',
          taskId,
          language: context.language,
          handle: context.prepared?.handle ?? null,
          code: context.prepared.code,
          args: context.args,
        });
        const outcome = await Promise.race([
          response.then((body) => {
            const parsed = parseRunBody(body);
            return parsed.ok
              ? parsed.value
              : ({
                  status: 'failed',
                  error: { message: `Invalid run answer: ${parsed.errors.join('; ')}`, type: 'HostError' },
                } as const);
          }, toOutcomeError),
          forcedOutcome,
        ]);
        if (dropped > 0) {
          // One note at the end rather than one per batch: the task's output says it is incomplete.
          context.output({
            stream: 'stderr',
            text: `[kr] the host dropped ${dropped} output records of this task (output cap)`,
            time: Date.now(),
          });
        }
        return outcome;
      } finally {
        stopListening();
        listeners.delete(taskId);
        forced.delete(taskId);
      }
    },

    async forceStop(taskId: string): Promise<void> {
      forced.get(taskId)?.();
      try {
        await host.request({ t: 'forceStop', taskId }, { timeoutMs: forceStopTimeoutMs });
      } catch (error) {
        // The host could not abandon the task in time: the last resort is a new host.
        if (isHostError(error, 'HOST_TIMEOUT'))
          host.recycle('recycled', `task ${taskId} could not be force-stopped`);
      }
    },

    release(prepared: HostPrepared): void {
      // Cached handles are shared by every task with the same code; the host bounds its own cache.
      if (!cache) host.notify({ t: 'release', handle: prepared.handle });
    },

    async health(): Promise<ExecutorHealth> {
      const info = host.info;
      if (!info) {
        const failure = host.lastFailure;
        return {
          ok: false,
          detail: `host ${host.status}${failure ? ` (last: ${failure.kind}${failure.signal ? ` ${failure.signal}` : ''})` : ''}`,
        };
      }
      try {
        const body = (await host.request({ t: 'health' }, { timeoutMs: 2_000 })) as Record<string, unknown>;
        const metrics: Record<string, number | string | boolean> = { generation: info.generation };
        for (const [key, value] of Object.entries(body ?? {})) {
          if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean')
            metrics[key] = value;
        }
        const busy = typeof metrics.busy === 'number' ? metrics.busy : undefined;
        return {
          ok: true,
          detail:
            busy === undefined
              ? `host pid ${info.pid} ready`
              : `host pid ${info.pid}: ${busy} of ${options.maxConcurrency} busy`,
          metrics,
        };
      } catch (error) {
        return { ok: false, detail: toTaskFailure(error).message };
      }
    },

    async dispose(): Promise<void> {
      for (const resolve of forced.values()) resolve();
      await host.dispose();
    },
  };
}
