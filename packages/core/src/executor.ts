/**
 * The Executor contract: what a language package implements so the task service can run its
 * scripts. `@kr/executor-js`, `@kr/executor-pwsh` and `@kr/executor-csharp` each implement it;
 * the service never knows which runtime is behind it.
 *
 * Lifecycle of one task, as the service drives it:
 *
 *   create  -> prepare(request)          compile / parse once; diagnostics come back, nothing runs
 *   start   -> (queued until a slot is free, per executor `maxConcurrency`)
 *   run     -> run(context)              resolves with an outcome; never rejects for a script error
 *   cancel  -> context.signal aborts     the script is asked to stop (cooperative)
 *   grace   -> forceStop(taskId)         after the grace period: kill the worker / runspace / host
 *   remove  -> release(prepared)         the task is gone; drop anything cached for it
 */
import type { TaskFailure } from './errors.js';
import type { ProgressSnapshot } from './task-progress.js';

/** Where a line of captured output came from. Executors map their runtime's streams onto these. */
export type OutputStream =
  /** `console.log`, `Console.Out`, `[Console]::WriteLine`, native programs' stdout. */
  | 'stdout'
  /** `Console.Error`, native programs' stderr. */
  | 'stderr'
  /** PowerShell's Error stream (non-terminating errors), `console.error`. */
  | 'error'
  /** PowerShell's Warning stream, `console.warn`. */
  | 'warning'
  /** PowerShell's Verbose stream. */
  | 'verbose'
  /** PowerShell's Debug stream, `console.debug`. */
  | 'debug'
  /** PowerShell's Information stream (including `Write-Host`), `console.info`. */
  | 'information';

export const OUTPUT_STREAMS = [
  'stdout',
  'stderr',
  'error',
  'warning',
  'verbose',
  'debug',
  'information',
] as const satisfies readonly OutputStream[];

/** One captured line (or chunk) of output. */
export interface OutputRecord {
  readonly stream: OutputStream;
  readonly text: string;
  /** Epoch milliseconds when the script wrote it. */
  readonly time: number;
}

/** A compile or parse message, positioned in the user's code (1-based line and column). */
export interface Diagnostic {
  /** Compiler id when there is one (`CS0103`, `BC30451`, `ParseError`, …). */
  readonly id?: string;
  readonly severity: 'error' | 'warning';
  readonly message: string;
  readonly line: number;
  readonly column: number;
  readonly endLine?: number;
  readonly endColumn?: number;
}

/** Plain JSON-compatible arguments, keyed by variable name. */
export type TaskArguments = Readonly<Record<string, unknown>>;

export interface PrepareRequest {
  /** Canonical language name, one of the executor's `languages`. */
  readonly language: string;
  readonly code: string;
  readonly args: TaskArguments;
}

export type PrepareResult<TPrepared> =
  | { readonly ok: true; readonly prepared: TPrepared; readonly warnings?: readonly Diagnostic[] }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/** Everything a running task may touch. */
export interface RunContext<TPrepared = unknown> {
  readonly taskId: string;
  readonly language: string;
  readonly prepared: TPrepared;
  readonly args: TaskArguments;
  /** Aborted when the task is cancelled or times out; pass it on to the script. */
  readonly signal: AbortSignal;
  /**
   * Calls `listener` once when the task is cancelled or times out (at once if it already was) and
   * returns a function that removes it. The service's contexts create `signal` only when it is read,
   * so an executor that listens here instead spares an AbortSignal and its listeners per run. Use
   * {@link onRunCancelled} and {@link isRunCancelled}: they fall back to `signal` for contexts
   * without it (a test's hand-made context, an older caller).
   */
  readonly onCancel?: (listener: () => void) => () => void;
  /** Whether the task was cancelled (see {@link onCancel}). */
  readonly cancelled?: boolean;
  /** Report progress. The service validates it; the executor should coalesce floods. */
  readonly progress: (snapshot: ProgressSnapshot) => void;
  /** Report a line of output. The service caps and counts what it keeps. */
  readonly output: (record: OutputRecord) => void;
}

/** How a run ended, as the executor saw it. */
export type RunOutcome =
  | { readonly status: 'completed'; readonly result: unknown }
  | { readonly status: 'failed'; readonly error: TaskFailure }
  /** The script stopped because it was asked to (or stopped itself). */
  | { readonly status: 'cancelled' };

export interface ExecutorHealth {
  readonly ok: boolean;
  /** One line for humans: "2 of 8 runspaces busy", "host restarting after SIGKILL", … */
  readonly detail?: string;
  /** Anything else worth a dashboard (pids, memory, pool sizes). */
  readonly metrics?: Readonly<Record<string, number | string | boolean>>;
}

/**
 * The contract every language package implements.
 *
 * Rules the service relies on:
 * - `run` resolves with a {@link RunOutcome}; a script error is `{ status: 'failed' }`, not a
 *   rejection (a rejection is still handled, as a failure).
 * - When `context.signal` aborts, the executor tells the script at once and does not wait for it.
 * - `forceStop` stops a task that ignored its signal, by whatever it takes (terminate the worker,
 *   discard the runspace, recycle the host). Other tasks must go on. After it, `run`'s late
 *   outcome is ignored.
 * - Results are JSON-safe by the executor's documented rule.
 */
export interface Executor<TPrepared = unknown> {
  /** A short name for logs and health (`js`, `pwsh`, `csharp`). */
  readonly name: string;
  /** Canonical language names this executor runs, lower case (`javascript`, `powershell`, …). */
  readonly languages: readonly string[];
  /** Other accepted spellings, lower case, mapped to a canonical name (`ps1` -> `powershell`). */
  readonly aliases?: Readonly<Record<string, string>>;
  /** How many tasks it runs at once; the service queues the rest (FIFO). */
  readonly maxConcurrency: number;

  /** Compile / parse ahead of the first run. Diagnostics are positioned in the user's code. */
  prepare(request: PrepareRequest): Promise<PrepareResult<TPrepared>>;
  /** Runs one prepared task to its end. */
  run(context: RunContext<TPrepared>): Promise<RunOutcome>;
  /** Stops a task that did not honour its signal within the grace period. */
  forceStop(taskId: string): Promise<void>;
  /** Drops what `prepare` cached for a task that is gone (optional). */
  release?(prepared: TPrepared): void;
  /** Cheap liveness check. */
  health(): Promise<ExecutorHealth>;
  /** Stops everything and frees the runtime (worker threads, host processes). */
  dispose(): Promise<void>;
}

/** Calls `listener` once when the run is cancelled; returns how to stop listening. See {@link RunContext.onCancel}. */
export function onRunCancelled(context: RunContext<unknown>, listener: () => void): () => void {
  if (context.onCancel) return context.onCancel(listener);
  const { signal } = context;
  if (signal.aborted) {
    listener();
    return () => {};
  }
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}

/** Whether the run was cancelled, without creating a lazy `signal`. */
export function isRunCancelled(context: RunContext<unknown>): boolean {
  return context.cancelled ?? context.signal.aborted;
}
