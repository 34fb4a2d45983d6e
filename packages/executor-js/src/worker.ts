/**
 * The worker-thread side: piscina loads this file in every thread of the pool and calls its
 * default export once per task. User code never runs on the main thread.
 */
import type { OutputRecord, OutputStream, ProgressSnapshot, RunOutcome } from '@kr/core';
import { TaskProgress } from '@kr/core';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import vm from 'node:vm';
import { BroadcastChannel, parentPort, workerData } from 'node:worker_threads';
import { FAILURE_TYPES, isJsExecutorError } from './errors.js';
import { createScriptConsole } from './script-console.js';
import { toJsonSafe } from './to-json-safe.js';
import { toScriptFailure } from './to-script-failure.js';
import type { OutputBatch, RunResponse, ScriptRequest, WorkerBatch } from './worker-message.js';
import type { ChannelMessage, RunRequest, ScriptPayload, WorkerConfig } from './worker-request.js';

type ScriptFactory = (...values: unknown[]) => () => Promise<unknown>;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A script compiled in this worker, ready to be called once per run. */
interface CompiledScript extends ScriptPayload {
  readonly factory: ScriptFactory;
}

const config = workerData as WorkerConfig;
const RUNNING: ProgressSnapshot = { percentComplete: 0, statusMessage: 'Running' };
const scriptRequire = createRequire(join(process.cwd(), 'task.js'));
/** By script id, least recently compiled first. */
const compiled = new Map<number, CompiledScript>();
/** Runs waiting for the definition of a script this worker does not have, by script id. */
const awaitingScripts = new Map<number, ((payload: string) => void)[]>();

/** One task in this worker: what it has written that the main thread has not seen yet. */
class ActiveRun {
  /** Only for scripts that can see their signal (`PreparedScript.usesSignal`). */
  controller: AbortController | undefined;
  cancelled = false;
  output: OutputRecord[] = [];
  progress: ProgressSnapshot | undefined;
  dropped = 0;
  batches = 0;
  ended = false;
  timer: NodeJS.Timeout | undefined;
  lastFlush = Number.NEGATIVE_INFINITY;
  crash: ((error: unknown) => void) | undefined;

  constructor(readonly token: number) {}

  cancel(): void {
    this.cancelled = true;
    this.controller?.abort();
  }

  write(stream: OutputStream, text: string): void {
    if (this.ended) return;
    this.output.push({ stream, text, time: Date.now() });
    // Splicing half at a time keeps a flooding loop O(1) per record while holding the newest.
    if (this.output.length >= 2 * config.maxBufferedOutput) {
      this.dropped += this.output.length - config.maxBufferedOutput;
      this.output.splice(0, this.output.length - config.maxBufferedOutput);
    }
    this.schedule();
  }

  report(progress: ProgressSnapshot): void {
    if (this.ended) return;
    // Latest wins: a loop that sets progress a million times posts one reading per interval.
    this.progress = progress;
    this.schedule();
  }

  schedule(): void {
    // Leading edge: a script stuck in a synchronous loop never lets a timer fire, so anything
    // written after a quiet interval goes out at once; what follows waits for the timer.
    if (performance.now() - this.lastFlush >= config.flushIntervalMs) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), config.flushIntervalMs);
  }

  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.lastFlush = performance.now();
    if (this.ended || (this.output.length === 0 && this.progress === undefined && this.dropped === 0)) return;
    const batch: Mutable<WorkerBatch> = { kind: 'kr-batch', token: this.token };
    this.take(batch);
    this.batches++;
    parentPort?.postMessage(batch);
  }

  /** Moves what is pending into `message` (a batch or the response) and forgets it. */
  take(message: Mutable<OutputBatch>): void {
    if (this.output.length > 0) {
      const output =
        this.output.length > config.maxBufferedOutput
          ? this.output.slice(-config.maxBufferedOutput)
          : this.output;
      this.dropped += this.output.length - output.length;
      message.output = output;
      this.output = [];
    }
    if (this.progress !== undefined) message.progress = this.progress;
    if (this.dropped > 0) message.dropped = this.dropped;
    this.progress = undefined;
    this.dropped = 0;
  }

  end(): RunResponse['batches'] {
    this.ended = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    return this.batches;
  }
}

let current: ActiveRun | undefined;

// A cancellation can overtake its task (they travel on different ports), so remember recent ones.
const earlyCancels = new Set<number>();
const channel = new BroadcastChannel(config.channel);
channel.onmessage = (event) => {
  const message = (event as { data: ChannelMessage }).data;
  if (typeof message !== 'number') {
    receiveScript(message[0], message[1]);
    return;
  }
  const token = message;
  if (current !== undefined && current.token === token) {
    current.cancel();
    return;
  }
  earlyCancels.add(token);
  if (earlyCancels.size > 1024) earlyCancels.delete(earlyCancels.values().next().value as number);
};
channel.unref();

// Errors from a script's stray callbacks would otherwise end the thread; they fail the running
// task instead, and are dropped when no task runs (their task is already over).
process.on('uncaughtException', (error) => current?.crash?.(error));
process.on('unhandledRejection', (reason) => current?.crash?.(reason));

// `process.stdout.write` and the global console must not reach the host's stdout (it may carry a
// protocol); they belong to the running task.
for (const [stream, name] of [
  [process.stdout, 'stdout'],
  [process.stderr, 'stderr'],
] as const) {
  const write = (chunk: unknown, encoding?: unknown, callback?: unknown): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString();
    current?.write(name, text.endsWith('\n') ? text.slice(0, -1) : text);
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
    return true;
  };
  stream.write = write;
}

function compile(scriptId: number, payload: string): CompiledScript {
  const script = JSON.parse(payload) as ScriptPayload;
  const vmScript = new vm.Script(script.source, {
    filename: script.filename,
    // The wrapper's head is line 0, so the user's lines keep their numbers in stack traces.
    lineOffset: -1,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const entry: CompiledScript = { ...script, factory: vmScript.runInThisContext() as ScriptFactory };
  if (compiled.size >= config.scriptCacheSize) compiled.delete(compiled.keys().next().value as number);
  compiled.set(scriptId, entry);
  return entry;
}

/** A definition arrived on the channel: resume the runs here that wait for it, if any. */
function receiveScript(scriptId: number, payload: string): void {
  const waiting = awaitingScripts.get(scriptId);
  if (!waiting) return; // asked for by another worker
  awaitingScripts.delete(scriptId);
  for (const resume of waiting) resume(payload);
}

/**
 * The compiled script of a run: from this worker's cache, from the request, or asked for from the
 * main thread (a worker that started after the script's first runs, or that evicted it).
 */
function getScript(request: RunRequest): CompiledScript | Promise<CompiledScript> {
  const [token, , scriptId, , payload] = request;
  const cached = compiled.get(scriptId);
  if (cached) return cached;
  if (payload !== 0) return compile(scriptId, payload);
  return fetchScript(token, scriptId);
}

async function fetchScript(token: number, scriptId: number): Promise<CompiledScript> {
  const definition = await new Promise<string>((resolve) => {
    let waiting = awaitingScripts.get(scriptId);
    if (!waiting) awaitingScripts.set(scriptId, (waiting = []));
    waiting.push(resolve);
    const ask: ScriptRequest = { kind: 'kr-script', token };
    parentPort?.postMessage(ask);
  });
  return compiled.get(scriptId) ?? compile(scriptId, definition);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

const NO_ARGS: Readonly<Record<string, unknown>> = Object.freeze({});

// Scripts that never name their signal get this one: they cannot tell it from their own.
const UNUSED_SIGNAL = new AbortController().signal;

async function execute(request: RunRequest, run: ActiveRun): Promise<RunOutcome> {
  let script: CompiledScript | undefined;
  try {
    const found = getScript(request);
    script = found instanceof Promise ? await found : found;
    // A script that never names `TaskProgress` cannot reach it, so it gets none.
    const progress = script.usesProgress
      ? new TaskProgress((snapshot) => run.report(snapshot), RUNNING)
      : undefined;
    let signal = UNUSED_SIGNAL;
    if (script.usesSignal) {
      run.controller = new AbortController();
      if (run.cancelled) run.controller.abort();
      signal = run.controller.signal;
    }
    const args = request[3] === 0 ? NO_ARGS : Object.freeze(request[3]);
    // A script that never names `console` reaches only the global one, which writes to the task too.
    const scriptConsole = script.usesConsole ? createScriptConsole((s, t) => run.write(s, t)) : console;
    const values: unknown[] = [progress, request[1], signal, signal, args, scriptConsole, scriptRequire];
    for (const name of script.parameters) values.push(args[name]);
    // One promise settles with the script or with an error its stray callbacks threw.
    const factory = script.factory;
    let value = await new Promise<unknown>((resolve, reject) => {
      run.crash = reject;
      factory(...values)().then(resolve, reject);
    });
    if (script.wrapsLastExpression) {
      value = (value as { value?: unknown } | undefined)?.value;
      // A task's result is data; a pending promise has none, so the script's last thenable is awaited.
      if (isThenable(value)) {
        const thenable = value;
        value = await new Promise<unknown>((resolve, reject) => {
          run.crash = reject;
          thenable.then(resolve, reject);
        });
      }
    }
    return { status: 'completed', result: toJsonSafe(value) };
  } catch (error) {
    // The result could not be converted: the executor's own failure, without a worker stack.
    if (isJsExecutorError(error)) {
      return {
        status: 'failed',
        error: { message: error.message, type: FAILURE_TYPES[error.code], code: error.code },
      };
    }
    // Once cancelled, whatever the script throws is how it stopped.
    if (run.cancelled || (error as { name?: unknown } | null)?.name === 'AbortError') {
      return { status: 'cancelled' };
    }
    const position = script
      ? { filename: script.filename, shift: script.shift }
      : { filename: 'task.js', shift: null };
    return { status: 'failed', error: toScriptFailure(error, position) };
  }
}

/** piscina's task handler: runs one script and returns its outcome with its last batch. */
export async function runTask(request: RunRequest): Promise<RunResponse> {
  const run = new ActiveRun(request[0]);
  current = run;
  if (earlyCancels.delete(run.token)) run.cancel();
  try {
    const outcome = await execute(request, run);
    const response: Mutable<RunResponse> = { outcome, batches: run.end() };
    run.take(response);
    return response;
  } finally {
    run.end();
    if (current === run) current = undefined;
  }
}
