import type { Diagnostic, Executor, ProgressSnapshot, RunContext, RunOutcome, TaskFailure } from '@kr/core';

/** One run the test drives by hand. */
export interface ManualRun {
  readonly context: RunContext<string>;
  complete(result?: unknown): void;
  fail(error?: Partial<TaskFailure>): void;
  cancelled(): void;
  progress(snapshot: ProgressSnapshot): void;
  output(
    text: string,
    stream?: 'stdout' | 'stderr' | 'error' | 'warning' | 'verbose' | 'debug' | 'information',
  ): void;
}

export interface ManualExecutor extends Executor<string> {
  /** Runs by task id, in the order they began. */
  readonly runs: Map<string, ManualRun>;
  readonly forceStopped: string[];
  readonly released: string[];
  /** Code that `prepare` rejects with these diagnostics. */
  failPrepare(code: string, diagnostics: Diagnostic[]): void;
  disposed: boolean;
}

/**
 * An executor whose runs the test settles by hand, for testing the engine's own logic (queueing,
 * races, timeouts). It stands in for no engine: executor packages test their real runtimes.
 */
export function createManualExecutor(
  options: { name?: string; languages?: string[]; maxConcurrency?: number } = {},
): ManualExecutor {
  const runs = new Map<string, ManualRun>();
  const badCode = new Map<string, Diagnostic[]>();
  const executor: ManualExecutor = {
    name: options.name ?? 'manual',
    languages: options.languages ?? ['manual'],
    aliases: { man: options.languages?.[0] ?? 'manual' },
    maxConcurrency: options.maxConcurrency ?? 2,
    runs,
    forceStopped: [],
    released: [],
    disposed: false,
    failPrepare(code, diagnostics) {
      badCode.set(code, diagnostics);
    },
    prepare({ code }) {
      const diagnostics = badCode.get(code);
      return Promise.resolve(diagnostics ? { ok: false, diagnostics } : { ok: true, prepared: code });
    },
    run(context) {
      return new Promise<RunOutcome>((resolve) => {
        runs.set(context.taskId, {
          context,
          complete: (result) => resolve({ status: 'completed', result }),
          fail: (error) => resolve({ status: 'failed', error: { message: 'boom', type: 'Error', ...error } }),
          cancelled: () => resolve({ status: 'cancelled' }),
          progress: (snapshot) => context.progress(snapshot),
          output: (text, stream = 'stdout') => context.output({ stream, text, time: 0 }),
        });
      });
    },
    forceStop(taskId) {
      executor.forceStopped.push(taskId);
      return Promise.resolve();
    },
    release(prepared) {
      executor.released.push(prepared);
    },
    health: () => Promise.resolve({ ok: true }),
    dispose() {
      executor.disposed = true;
      return Promise.resolve();
    },
  };
  return executor;
}

/** Lets pending promise callbacks run. */
export async function flush(times = 5): Promise<void> {
  for (let i = 0; i < times; i++) await Promise.resolve();
}
