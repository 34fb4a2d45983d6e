import type { OutputRecord, RunContext, TaskArguments } from './executor.js';
import type { TaskRecord } from './task.js';
import type { ProgressSnapshot } from './task-progress.js';

/** What a run's context reports to its service. */
export interface RunSink {
  progress(task: TaskRecord, snapshot: unknown): void;
  output(task: TaskRecord, record: OutputRecord): void;
  /** An error a cancel listener threw; it must not stop the others. */
  internalError(error: unknown): void;
}

const noop = (): void => {};

/**
 * The {@link RunContext} the task service hands an executor for one run of one task.
 *
 * It is one object per run, with its members on the prototype: a context built as a literal with
 * getters and a closure per member cost more main-thread time and garbage than a trivial worker
 * task's whole round trip. The AbortSignal is made only if something reads `signal`; executors
 * listen through `onCancel` instead. `progress` and `output` are functions bound on first read,
 * so an executor may pass them around detached.
 *
 * Anything reported after the run is over (the task finished, or a newer run took its place) is
 * ignored.
 */
export class ServiceRunContext implements RunContext {
  readonly taskId: string;
  readonly language: string;
  readonly prepared: unknown;
  readonly args: TaskArguments;

  #controller: AbortController | null = null;
  #listeners: (() => void)[] | null = null;
  #cancelled = false;
  #reason: unknown = undefined;
  #progress: ((snapshot: ProgressSnapshot) => void) | null = null;
  #output: ((record: OutputRecord) => void) | null = null;

  readonly #task: TaskRecord;
  readonly #runId: number;
  readonly #sink: RunSink;

  constructor(task: TaskRecord, runId: number, sink: RunSink, args: TaskArguments) {
    this.#task = task;
    this.#runId = runId;
    this.#sink = sink;
    this.taskId = task.id;
    this.language = task.language;
    this.prepared = task.prepared;
    this.args = args;
  }

  /** True while this run is the task's current one and the task has not finished. */
  isLive(): boolean {
    const task = this.#task;
    return task.run === this.#runId && (task.state === 'Running' || task.state === 'Stopping');
  }

  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#cancelled) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get cancelled(): boolean {
    return this.#cancelled;
  }

  onCancel(listener: () => void): () => void {
    if (this.#cancelled) {
      listener();
      return noop;
    }
    (this.#listeners ??= []).push(listener);
    return () => {
      const listeners = this.#listeners;
      const at = listeners?.indexOf(listener) ?? -1;
      if (at >= 0) listeners!.splice(at, 1);
    };
  }

  get progress(): (snapshot: ProgressSnapshot) => void {
    return (this.#progress ??= (snapshot) => {
      if (this.isLive()) this.#sink.progress(this.#task, snapshot);
    });
  }

  get output(): (record: OutputRecord) => void {
    return (this.#output ??= (record) => {
      if (this.isLive()) this.#sink.output(this.#task, record);
    });
  }

  /** Cancels the run: aborts its signal (if made) and calls its cancel listeners, once. */
  cancel(reason: unknown): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    const listeners = this.#listeners;
    if (!listeners) return;
    for (const listener of listeners.splice(0)) {
      try {
        listener();
      } catch (error) {
        this.#sink.internalError(error);
      }
    }
  }
}
