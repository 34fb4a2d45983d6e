import type {
  Executor,
  ExecutorHealth,
  PrepareRequest,
  PrepareResult,
  RunContext,
  RunOutcome,
  TaskFailure,
} from '@kr/core';
import { isRunCancelled, onRunCancelled, toTaskFailure } from '@kr/core';
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { BroadcastChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { FAILURE_TYPES, JsExecutorError } from './errors.js';
import type { JsExecutorErrorCode } from './errors.js';
import { toPreparedScript } from './prepare-script.js';
import type { PreparedScript, PrepareScriptResult, ScriptLanguage } from './prepare-script.js';
import { loadTypeStripper } from './strip-types.js';
import { parseWorkerMessage } from './worker-message.js';
import type { OutputBatch, RunResponse } from './worker-message.js';
import { toScriptPayload } from './worker-request.js';
import type { ChannelMessage, RunRequest, ScriptDefinition, WorkerConfig } from './worker-request.js';

/** Options of {@link createJsExecutor}. Every one has a default. */
export interface JsExecutorOptions {
  /** Worker threads in the pool, and so tasks running at once. Default `os.availableParallelism()`. */
  poolSize?: number;
  /**
   * Threads started up front and kept when idle (at most `poolSize`). Default `poolSize`: a task
   * never waits for a thread to boot (~40 ms). Lower it to save memory; extra threads then start
   * on demand and stop after `idleTimeoutMs`.
   */
  minThreads?: number;
  /** How long a thread above `minThreads` may stay idle before it stops. Default 30,000 ms. */
  idleTimeoutMs?: number;
  /**
   * Heap limit of each worker, in MB (V8's old generation). A task that exceeds it ends Failed
   * with type `OutOfMemoryError`, and its thread is replaced. Default 512. It does not count
   * ArrayBuffers, and a `--max-old-space-size` given to Node overrides it.
   */
  maxMemoryMb?: number;
  /**
   * How long progress and output may wait in the worker before they are posted to the main
   * thread. Within that interval progress is latest-wins and output is batched. Default 50 ms.
   */
  flushIntervalMs?: number;
  /** Most output records one task may have waiting in its worker; the oldest are dropped and counted. Default 10,000. */
  maxBufferedOutput?: number;
  /** Compiled scripts each worker keeps (by source), and prepared scripts the main thread keeps. Default 256. */
  scriptCacheSize?: number;
}

/** What {@link createJsExecutor}'s `prepare` keeps for a task: its checked, rewritten script. */
export type JsPrepared = PreparedScript;

const LANGUAGES = ['javascript', 'typescript'] as const satisfies readonly ScriptLanguage[];

const ALIASES: Readonly<Record<string, ScriptLanguage>> = {
  js: 'javascript',
  mjs: 'javascript',
  cjs: 'javascript',
  node: 'javascript',
  ecmascript: 'javascript',
  ts: 'typescript',
  mts: 'typescript',
  cts: 'typescript',
};

/** Messages of failures the executor itself reports (not the script's own errors). */
const FAILURE_MESSAGES = {
  OUT_OF_MEMORY: (limitMb: number) =>
    `The script ran out of memory: it exceeded the worker's heap limit of ${limitMb} MB (maxMemoryMb). Its worker thread was stopped and replaced.`,
  WORKER_EXITED: (detail: string) =>
    `The script's worker thread ended before the script finished (${detail}); did the script call process.exit()? The thread was replaced.`,
  DISPOSED: () => 'The executor was disposed while the task ran.',
} as const satisfies Partial<Record<JsExecutorErrorCode, (...args: never[]) => string>>;

const noop = (): void => {};
/** Prepared forms kept per code (one per language and set of argument names). */
const MAX_VARIANTS = 8;

/** How the main thread refers to a prepared script in run requests (see `worker-request.ts`). */
interface ScriptRef {
  readonly id: number;
  readonly payload: string;
  /** Runs that still carry the payload; after that, a worker without the script asks for it. */
  inline: number;
}

/** A run between `pool.run` and its outcome. */
interface RunState {
  readonly token: number;
  readonly ctx: RunContext<JsPrepared>;
  readonly stop: ForceStopSignal;
  readonly onCancel: () => void;
  /** Stops listening for the task's cancellation. */
  stopListening: () => void;
  resolve: (outcome: RunOutcome) => void;
  settled: boolean;
  /** Batches delivered so far; the response tells how many to expect. */
  received: number;
  response: RunResponse | undefined;
  /** Settles when piscina is done with the run (including a terminated worker). */
  pool: Promise<unknown> | undefined;
}

/**
 * What piscina needs to abort a task (it accepts an EventEmitter-style signal): a real
 * AbortSignal costs ~17 µs to create on Node 20, more than a trivial task's whole run, and this
 * one is used only by `forceStop`.
 */
class ForceStopSignal {
  aborted = false;
  #listener: (() => void) | undefined;

  once(_event: 'abort', listener: () => void): void {
    this.#listener = listener;
  }

  // piscina's types name `off`; its code calls `removeListener`.
  off(): void {
    this.#listener = undefined;
  }

  removeListener(): void {
    this.#listener = undefined;
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listener = this.#listener;
    this.#listener = undefined;
    listener?.();
  }
}

let instances = 0;

/**
 * Creates the executor for JavaScript and TypeScript code tasks. Scripts run in a pool of worker
 * threads (piscina), never on the main thread. A script sees its arguments as variables, plus
 * `TaskProgress`, `TaskId`, `signal` (also `TaskCancellationToken`), `TaskArgs`, `console` and
 * `require`; top-level `await` works, and the last expression statement (or a top-level `return`)
 * is the result, made JSON-safe by `toJsonSafe`.
 *
 * @param options - pool size, memory limit and the other {@link JsExecutorOptions}
 * @returns an {@link Executor} to register with the task service
 * @example
 * import { createTaskService } from '@kr/core';
 * import { createJsExecutor } from '@kr/executor-js';
 *
 * const service = createTaskService({ executors: [createJsExecutor({ poolSize: 4, maxMemoryMb: 256 })] });
 * const id = await service.create({ language: 'js', code: 'await new Promise((r) => setTimeout(r, 10));\na + b', args: { a: 1, b: 2 } });
 * service.start(id);
 * const done = await service.wait(id); // done.state === 'Completed', done.result === 3
 */
export function createJsExecutor(options: JsExecutorOptions = {}): Executor<JsPrepared> {
  const poolSize = positiveInteger(options.poolSize, availableParallelism(), 'poolSize');
  const minThreads = Math.min(poolSize, nonNegativeInteger(options.minThreads, poolSize, 'minThreads'));
  const idleTimeoutMs = nonNegativeInteger(options.idleTimeoutMs, 30_000, 'idleTimeoutMs');
  const maxMemoryMb = positiveInteger(options.maxMemoryMb, 512, 'maxMemoryMb');
  const scriptCacheSize = positiveInteger(options.scriptCacheSize, 256, 'scriptCacheSize');
  const workerConfig: WorkerConfig = {
    channel: `kr-executor-js:${process.pid}:${++instances}:${randomUUID()}`,
    flushIntervalMs: nonNegativeInteger(options.flushIntervalMs, 50, 'flushIntervalMs'),
    maxBufferedOutput: positiveInteger(options.maxBufferedOutput, 10_000, 'maxBufferedOutput'),
    scriptCacheSize,
  };

  let pool: Piscina | undefined;
  let channel: BroadcastChannel | undefined;
  let disposed = false;
  let nextToken = 0;
  let nextScriptId = 0;
  /** Script definitions sent because a worker asked (it started late, or evicted the script). */
  let scriptRequests = 0;
  const scriptRefs = new WeakMap<JsPrepared, ScriptRef>();
  let lastPoolError: string | undefined;
  const runs = new Map<number, RunState>();
  const byTask = new Map<string, RunState>();
  // The same code (a dashboard's template, a benchmark) is often created many times over. Keyed
  // by code, then by language and argument names: the code, often the long part, is never copied
  // into a composite key (which had to be flattened and hashed on every create).
  const preparedCache = new Map<string, Map<string, PrepareResult<JsPrepared>>>();

  function getPool(): Piscina {
    if (disposed) throw new JsExecutorError('DISPOSED', 'The JavaScript executor has been disposed.');
    if (pool) return pool;
    channel = new BroadcastChannel(workerConfig.channel);
    channel.unref();
    pool = new Piscina({
      filename: new URL('./worker.js', import.meta.url).href,
      name: 'runTask',
      minThreads,
      maxThreads: poolSize,
      idleTimeout: idleTimeoutMs,
      // 'sync' parks idle threads in Atomics.wait, which freezes timers a script left behind.
      atomics: 'disabled',
      concurrentTasksPerWorker: 1,
      resourceLimits: { maxOldGenerationSizeMb: maxMemoryMb },
      workerData: workerConfig,
    });
    pool.on('message', onWorkerMessage);
    // A thread that dies with no task on it is replaced by piscina; without a listener the
    // 'error' event would crash the host process.
    pool.on('error', (error: unknown) => {
      lastPoolError = error instanceof Error ? error.message : String(error);
    });
    return pool;
  }

  function remember(code: string, variant: string, result: PrepareResult<JsPrepared>): void {
    let variants = preparedCache.get(code);
    if (!variants) {
      if (preparedCache.size >= scriptCacheSize)
        preparedCache.delete(preparedCache.keys().next().value as string);
      preparedCache.set(code, (variants = new Map<string, PrepareResult<JsPrepared>>()));
    }
    // The same code with many different argument names is odd; keep the latest few.
    if (variants.size >= MAX_VARIANTS) variants.delete(variants.keys().next().value as string);
    variants.set(variant, result);
  }

  /**
   * The id and payload of a prepared script. Its first runs carry the payload, so that every
   * worker is likely to have compiled it; later runs send only the id.
   */
  function scriptRef(script: JsPrepared): ScriptRef {
    let ref = scriptRefs.get(script);
    if (!ref) {
      ref = { id: ++nextScriptId, payload: toScriptPayload(script), inline: poolSize };
      scriptRefs.set(script, ref);
    }
    return ref;
  }

  function onWorkerMessage(message: unknown): void {
    const parsed = parseWorkerMessage(message);
    if (!parsed) return;
    const state = runs.get(parsed.token);
    if (!state || state.settled) return;
    if (parsed.kind === 'kr-script') {
      const ref = scriptRef(state.ctx.prepared);
      const definition: ScriptDefinition = [ref.id, ref.payload];
      scriptRequests++;
      channel?.postMessage(definition satisfies ChannelMessage);
      return;
    }
    const batch = parsed;
    deliver(state, batch);
    state.received++;
    tryFinish(state);
  }

  function deliver(state: RunState, batch: OutputBatch): void {
    const { ctx } = state;
    try {
      if (batch.dropped) {
        ctx.output({
          stream: 'warning',
          text: `${batch.dropped} output records were dropped: the script wrote faster than they could be delivered.`,
          time: Date.now(),
        });
      }
      if (batch.output) for (const record of batch.output) ctx.output(record);
      if (batch.progress) ctx.progress(batch.progress);
    } catch {
      // The service validates what it is given; a refused record must not lose the task.
    }
  }

  function tryFinish(state: RunState): void {
    const response = state.response;
    if (!response || state.received < response.batches) return;
    deliver(state, response);
    finish(state, response.outcome);
  }

  function finish(state: RunState, outcome: RunOutcome): void {
    if (state.settled) return;
    state.settled = true;
    state.stopListening();
    runs.delete(state.token);
    if (byTask.get(state.ctx.taskId) === state) byTask.delete(state.ctx.taskId);
    state.resolve(outcome);
  }

  function toPoolFailure(error: unknown): RunOutcome {
    if (disposed) return { status: 'cancelled' };
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ERR_WORKER_OUT_OF_MEMORY')
      return failed('OUT_OF_MEMORY', FAILURE_MESSAGES.OUT_OF_MEMORY(maxMemoryMb), code);
    const message = error instanceof Error ? error.message : String(error);
    if (/worker exited with code/i.test(message))
      return failed('WORKER_EXITED', FAILURE_MESSAGES.WORKER_EXITED(message));
    return { status: 'failed', error: toTaskFailure(error) };
  }

  return {
    name: 'js',
    languages: LANGUAGES,
    aliases: ALIASES,
    maxConcurrency: poolSize,

    async prepare(request: PrepareRequest): Promise<PrepareResult<JsPrepared>> {
      const language = toLanguage(request.language);
      const argumentNames = Object.keys(request.args ?? {});
      const variant = argumentNames.length === 0 ? language : `${language}\u0000${argumentNames.join(',')}`;
      let result = preparedCache.get(request.code)?.get(variant);
      if (!result) {
        const stripTypes = language === 'typescript' ? await loadTypeStripper() : undefined;
        result = toPrepareResult(
          toPreparedScript({ language, code: request.code, argumentNames, stripTypes }),
        );
        remember(request.code, variant, result);
      }
      // Creating the pool here means its threads boot while the caller is still deciding to start.
      if (!disposed) getPool();
      return result;
    },

    run(ctx: RunContext<JsPrepared>): Promise<RunOutcome> {
      if (isRunCancelled(ctx)) return Promise.resolve({ status: 'cancelled' });
      if (disposed) return Promise.resolve(failed('DISPOSED', FAILURE_MESSAGES.DISPOSED()));
      const token = ++nextToken;
      const ref = scriptRef(ctx.prepared);
      let payload: string | 0 = 0;
      if (ref.inline > 0) {
        ref.inline--;
        payload = ref.payload;
      }
      const request: RunRequest = [token, ctx.taskId, ref.id, hasKeys(ctx.args) ? ctx.args : 0, payload];
      return new Promise<RunOutcome>((resolve) => {
        const state: RunState = {
          token,
          ctx,
          stop: new ForceStopSignal(),
          onCancel: () => channel?.postMessage(token satisfies ChannelMessage),
          stopListening: noop,
          resolve,
          settled: false,
          received: 0,
          response: undefined,
          pool: undefined,
        };
        runs.set(token, state);
        byTask.set(ctx.taskId, state);
        state.stopListening = onRunCancelled(ctx, state.onCancel);
        state.pool = getPool()
          .run(request, { signal: state.stop })
          .then(
            (response: RunResponse) => {
              state.response = response;
              tryFinish(state);
            },
            (error: unknown) => {
              // The worker is gone, so the batches it still owed will never come.
              finish(state, state.stop.aborted ? { status: 'cancelled' } : toPoolFailure(error));
            },
          );
      });
    },

    async forceStop(taskId: string): Promise<void> {
      const state = byTask.get(taskId);
      if (!state || state.settled) return;
      // piscina terminates the thread running an aborted task and starts a replacement.
      state.stop.abort();
      finish(state, { status: 'cancelled' });
      await state.pool;
    },

    health(): Promise<ExecutorHealth> {
      if (disposed || !pool) {
        return Promise.resolve({
          ok: !disposed,
          detail: disposed ? 'disposed' : `idle, ${poolSize} threads on demand`,
        });
      }
      const metrics: Record<string, number | string | boolean> = {
        poolSize,
        threads: pool.threads.length,
        running: runs.size,
        queued: pool.queueSize,
        completed: pool.completed,
        scriptRequests,
        utilization: Math.round(pool.utilization * 1000) / 1000,
      };
      if (lastPoolError !== undefined) metrics.lastPoolError = lastPoolError;
      return Promise.resolve({ ok: true, detail: `${runs.size} of ${poolSize} threads busy`, metrics });
    },

    async dispose(): Promise<void> {
      if (disposed) return;
      disposed = true;
      const closing = pool;
      pool = undefined;
      for (const state of [...runs.values()]) finish(state, { status: 'cancelled' });
      preparedCache.clear();
      channel?.close();
      channel = undefined;
      await closing?.destroy();
    },
  };
}

function failed(code: JsExecutorErrorCode, message: string, errorCode?: string): RunOutcome {
  const error: TaskFailure = { message, type: FAILURE_TYPES[code], code: errorCode ?? code };
  return { status: 'failed', error };
}

/** What `prepare` answers for a checked script; frozen, because the cache hands it out again. */
function toPrepareResult(result: PrepareScriptResult): PrepareResult<JsPrepared> {
  if (!result.ok) return Object.freeze({ ok: false, diagnostics: result.diagnostics });
  return Object.freeze(
    result.warnings.length > 0
      ? { ok: true, prepared: result.script, warnings: result.warnings }
      : { ok: true, prepared: result.script },
  );
}

function hasKeys(args: object): boolean {
  for (const _ in args) return true;
  return false;
}

function toLanguage(language: string): ScriptLanguage {
  const lower = language.toLowerCase();
  return (LANGUAGES as readonly string[]).includes(lower)
    ? (lower as ScriptLanguage)
    : (ALIASES[lower] ?? 'javascript');
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new JsExecutorError('INVALID_OPTION', `${name} must be a positive integer, got ${String(value)}.`);
  }
  return value;
}

function nonNegativeInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) {
    throw new JsExecutorError(
      'INVALID_OPTION',
      `${name} must be a non-negative integer, got ${String(value)}.`,
    );
  }
  return value;
}
