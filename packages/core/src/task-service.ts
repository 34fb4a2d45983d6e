import type { Clock, IdGenerator } from './clock.js';
import { systemClock } from './clock.js';
import { TaskError, toTaskFailure } from './errors.js';
import type { TaskFailure } from './errors.js';
import type { Executor, OutputRecord, OutputStream, RunOutcome } from './executor.js';
import { OUTPUT_STREAMS } from './executor.js';
import { createFunctionExecutor, FUNCTION_LANGUAGE } from './function-executor.js';
import { randomIds } from './system-ids.js';
import { OutputBuffer, toSnapshot } from './task.js';
import type {
  CreateTaskInput,
  ExecutorSlot,
  SequencedOutputRecord,
  TaskEnd,
  TaskRecord,
  TaskSnapshot,
} from './task.js';
import { applyProgress, INITIAL_PROGRESS } from './task-progress.js';
import type { ProgressSnapshot } from './task-progress.js';
import { isFinished, transition } from './task-state.js';
import type { TaskEvent, TaskState } from './task-state.js';
import { NO_ARGS, parseCreateInput } from './parse-create-input.js';
import { ServiceRunContext } from './service-run-context.js';
import type { RunSink } from './service-run-context.js';

/** Options of {@link createTaskService}. Every limit has a documented default. */
export interface TaskServiceOptions {
  /** The language executors. In-process function tasks need none (a built-in executor runs them). */
  executors?: readonly Executor[];
  /** Override an executor's `maxConcurrency`, by executor name (`{ pwsh: 4 }`). */
  concurrency?: Readonly<Record<string, number>>;
  /** How long a cancelled task may take to stop before the executor force-stops it. Default 5000 ms. */
  gracePeriodMs?: number;
  /** Default per-task timeout; a task can set its own. Default: none. */
  defaultTimeoutMs?: number;
  /**
   * Finished tasks are evicted (as by `remove`) past these limits, oldest first.
   * Default: at most 10,000 finished tasks, each kept at most 24 hours.
   */
  retention?: { maxFinished?: number; maxAgeMs?: number };
  /** Output kept per task (the newest win); the rest is counted as dropped. Default 1,000 records of at most 16 KiB each. */
  output?: { maxRecords?: number; maxRecordLength?: number };
  clock?: Clock;
  ids?: IdGenerator;
  /** Called with errors the engine caught and survived (a throwing listener, a failing forceStop). */
  onInternalError?: (error: unknown) => void;
}

/** Why an operation was refused: enough for an adapter to pick 404 or 409. */
export type OperationResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly code: 'NOT_FOUND' | 'INVALID_STATE' | 'DISPOSED';
      readonly message: string;
      readonly state?: TaskState;
    };

export interface ListOptions {
  /** Only tasks in this state (or these states). */
  state?: TaskState | readonly TaskState[];
  /** Only children of this task; `null` for root tasks only. */
  parentId?: string | null;
  /** Paging, in creation order. Default: from 0, everything. */
  offset?: number;
  limit?: number;
}

export interface ListResult {
  readonly tasks: TaskSnapshot[];
  /** How many matched before paging. */
  readonly total: number;
}

export interface OutputPage {
  readonly records: SequencedOutputRecord[];
  readonly dropped: number;
  /** The sequence number the next record will get. */
  readonly nextSeq: number;
}

/** What the service tells subscribers. */
export type TaskServiceEvent =
  | { readonly type: 'created'; readonly taskId: string; readonly task: TaskSnapshot }
  | {
      readonly type: 'state';
      readonly taskId: string;
      readonly from: TaskState;
      readonly to: TaskState;
      readonly task: TaskSnapshot;
    }
  | { readonly type: 'progress'; readonly taskId: string; readonly progress: ProgressSnapshot }
  | { readonly type: 'output'; readonly taskId: string; readonly record: SequencedOutputRecord }
  | { readonly type: 'removed'; readonly taskId: string };

export type TaskServiceListener = (event: TaskServiceEvent) => void;

export interface DisposeReport {
  /** Tasks that were still unfinished and ended by the cancellation (cooperatively or before they ran). */
  readonly stopped: readonly string[];
  /** Tasks that ignored the cancellation and were stopped by force after the grace period. */
  readonly abandoned: readonly string[];
}

/** The task service: create, start, observe, cancel and remove tasks across executors. */
export interface TaskService {
  /** Registers a task; compiles it first. Throws {@link TaskError} (`COMPILE_ERROR` with diagnostics, `INVALID_ARGUMENT`, …) and registers nothing on failure. */
  create(input: CreateTaskInput): Promise<string>;
  /** True when the task moved from NotStarted to Queued/Running. Never throws for a state reason. */
  start(id: string): boolean;
  tryStart(id: string): OperationResult;
  /** NotStarted -> Stopped at once; Queued/Running -> Stopping -> Stopped (or Completed if it finished first). False when finished or unknown. */
  cancel(id: string): boolean;
  tryCancel(id: string): OperationResult;
  /** Deletes a finished task and its (finished) descendants. False otherwise. */
  remove(id: string): boolean;
  tryRemove(id: string): OperationResult;
  get(id: string): TaskSnapshot | undefined;
  state(id: string): TaskState | undefined;
  /** The result of a finished task (`null` when it has none); undefined when unknown or unfinished. */
  result(id: string): unknown;
  output(id: string, options?: { afterSeq?: number; limit?: number }): OutputPage | undefined;
  list(options?: ListOptions): ListResult;
  /** False when the task is unknown; throws `INVALID_ARGUMENT` for a blank name. */
  setName(id: string, name: string): boolean;
  setDescription(id: string, description: string): boolean;
  /** Resolves with the snapshot once the task is finished, or when `timeoutMs` passes (unfinished snapshot). */
  wait(id: string, options?: { timeoutMs?: number }): Promise<TaskSnapshot>;
  /** Listens to every task, or one task with `{ taskId }`. Returns the unsubscribe function. */
  subscribe(listener: TaskServiceListener, options?: { taskId?: string }): () => void;
  /** The canonical language names the service can run. */
  languages(): string[];
  health(): Promise<
    Record<string, { ok: boolean; detail?: string; queued: number; running: number; limit: number }>
  >;
  /** Cancels everything, waits up to the grace period, force-stops the rest, disposes the executors. */
  dispose(): Promise<DisposeReport>;
}

const DEFAULTS = {
  gracePeriodMs: 5_000,
  maxFinished: 10_000,
  maxAgeMs: 24 * 60 * 60 * 1000,
  maxRecords: 1_000,
  maxRecordLength: 16 * 1024,
} as const;

const CANCELLED_BEFORE_START = 'Cancelled before start';
// Shared, frozen: most finished tasks end the same way, and 100,000 copies would cost megabytes.
const COMPLETED_END: TaskEnd = Object.freeze({ reason: 'completed', forced: false });
const FAILED_END: TaskEnd = Object.freeze({ reason: 'failed', forced: false });
const COMPLETED_PROGRESS: ProgressSnapshot = Object.freeze({
  percentComplete: 100,
  statusMessage: 'Completed',
});
const RUNNING_PROGRESS: ProgressSnapshot = Object.freeze({ percentComplete: 0, statusMessage: 'Running' });
const STREAMS: ReadonlySet<string> = new Set(OUTPUT_STREAMS);

/**
 * Creates the task service.
 *
 * @example
 * const tasks = createTaskService({ executors: [createJsExecutor()] });
 * const id = await tasks.create({ language: 'javascript', code: 'await sleep(10); 6 * 7', args: {} });
 * tasks.start(id);
 * const done = await tasks.wait(id);
 * if (done.state === 'Completed') console.log(done.result); // 42
 */
export function createTaskService(options: TaskServiceOptions = {}): TaskService {
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? randomIds;
  const gracePeriodMs = nonNegative(options.gracePeriodMs, DEFAULTS.gracePeriodMs, 'gracePeriodMs');
  const defaultTimeoutMs = options.defaultTimeoutMs ?? null;
  const maxFinished = nonNegative(
    options.retention?.maxFinished,
    DEFAULTS.maxFinished,
    'retention.maxFinished',
  );
  const maxAgeMs = nonNegative(options.retention?.maxAgeMs, DEFAULTS.maxAgeMs, 'retention.maxAgeMs');
  const maxRecords = nonNegative(options.output?.maxRecords, DEFAULTS.maxRecords, 'output.maxRecords');
  const maxRecordLength = nonNegative(
    options.output?.maxRecordLength,
    DEFAULTS.maxRecordLength,
    'output.maxRecordLength',
  );
  const reportInternal = (error: unknown): void => {
    try {
      options.onInternalError?.(error);
    } catch {
      // A broken error hook must not break the engine either.
    }
  };

  // --- executors and their queues -------------------------------------------------------------
  const slots = new Map<string, ExecutorSlot>(); // by executor name
  const byLanguage = new Map<string, { slot: ExecutorSlot; language: string }>();
  const register = (executor: Executor): void => {
    if (slots.has(executor.name)) {
      throw new TaskError('INVALID_ARGUMENT', `Two executors are named '${executor.name}'.`);
    }
    const limit = options.concurrency?.[executor.name] ?? executor.maxConcurrency;
    if (!(limit >= 1))
      throw new TaskError('INVALID_ARGUMENT', `Concurrency of '${executor.name}' must be at least 1.`);
    const slot: ExecutorSlot = { executor, limit, running: 0, queue: new Set() };
    slots.set(executor.name, slot);
    for (const language of executor.languages) {
      const canonical = language.toLowerCase();
      if (byLanguage.has(canonical)) {
        throw new TaskError('INVALID_ARGUMENT', `Language '${canonical}' is claimed by two executors.`);
      }
      byLanguage.set(canonical, { slot, language: canonical });
    }
    for (const [alias, target] of Object.entries(executor.aliases ?? {})) {
      const entry = byLanguage.get(target.toLowerCase());
      if (entry && !byLanguage.has(alias.toLowerCase())) byLanguage.set(alias.toLowerCase(), entry);
    }
  };
  register(createFunctionExecutor(clock));
  for (const executor of options.executors ?? []) register(executor);
  const functionSlot = byLanguage.get(FUNCTION_LANGUAGE)!.slot;

  // --- registry -------------------------------------------------------------------------------
  const tasks = new Map<string, TaskRecord>(); // key: lower-case id; Map order = creation order
  const reserved = new Set<string>(); // ids being prepared, so two concurrent creates cannot both take one
  const finishedOrder: TaskRecord[] = []; // retention queue, oldest finish first
  let finishedHead = 0;
  let retentionTimer: (() => void) | null = null;
  let finishedCount = 0; // registered tasks in a finished state
  let disposed = false;

  const listeners = new Set<TaskServiceListener>();
  const taskListeners = new Map<string, Set<TaskServiceListener>>();

  const hasListeners = (task: TaskRecord): boolean => listeners.size > 0 || taskListeners.has(task.key);
  const emit = (task: TaskRecord, event: TaskServiceEvent): void => {
    for (const listener of listeners) safeCall(listener, event);
    const own = taskListeners.get(task.key);
    if (own) for (const listener of own) safeCall(listener, event);
  };
  const safeCall = (listener: TaskServiceListener, event: TaskServiceEvent): void => {
    try {
      listener(event);
    } catch (error) {
      reportInternal(error);
    }
  };

  const find = (id: unknown): TaskRecord | undefined =>
    typeof id === 'string' ? tasks.get(id.toLowerCase()) : undefined;

  const assertAlive = (): void => {
    if (disposed) throw new TaskError('DISPOSED', 'The task service has been disposed.');
  };

  // --- the shell around transition() ------------------------------------------------------------
  /**
   * Applies one event to a task: asks the state table, commits the new state, tells subscribers,
   * then performs the effects. Returns false (changing nothing) when the table refuses the event.
   */
  const apply = (
    task: TaskRecord,
    event: TaskEvent,
    payload?: { result?: unknown; error?: TaskFailure },
  ): boolean => {
    const step = transition(task.state, event);
    if (!step.ok) return false;
    const from = task.state;
    task.state = step.to;
    if (event === 'complete') task.result = payload?.result ?? null;
    if (event === 'fail' && step.to === 'Failed')
      task.error = payload?.error ?? { message: 'Unknown error', type: 'Error' };
    if (event === 'fail' && step.to === 'Stopped' && payload?.error)
      task.end = endOf(task, event, payload.error.message);
    if (from !== step.to && step.effects.indexOf('finish') === -1 && hasListeners(task)) {
      emit(task, { type: 'state', taskId: task.id, from, to: step.to, task: toSnapshot(task) });
    }
    for (const effect of step.effects) {
      switch (effect) {
        case 'enqueue':
          task.executor.queue.add(task);
          pump(task.executor);
          break;
        case 'dequeue':
          task.executor.queue.delete(task);
          apply(task, 'stopped');
          break;
        case 'execute':
          execute(task);
          break;
        case 'abort':
          task.activeRun?.cancel(
            new TaskError('INVALID_STATE', task.stopBy === 'timeout' ? 'Task timed out' : 'Task cancelled'),
          );
          armTimer(task, () => apply(task, 'force'), gracePeriodMs);
          break;
        case 'forceStop':
          task.executor.executor.forceStop(task.id).catch(reportInternal);
          break;
        case 'cancelChildren':
          for (const child of task.children ?? []) {
            if (!isFinished(child.state)) cancelTask(child, 'parent');
          }
          break;
        case 'finish':
          finish(task, from, event);
          break;
        case 'delete':
          deleteTree(task);
          break;
      }
    }
    return true;
  };

  const cancelTask = (task: TaskRecord, by: NonNullable<TaskEnd['by']>): boolean => {
    if (isFinished(task.state)) return false;
    if (task.stopBy === null) task.stopBy = by;
    return apply(task, by === 'timeout' ? 'timeout' : 'cancel');
  };

  const pump = (slot: ExecutorSlot): void => {
    while (slot.running < slot.limit && slot.queue.size > 0) {
      const next = slot.queue.values().next().value as TaskRecord;
      slot.queue.delete(next);
      apply(next, 'run');
    }
  };

  const armTimer = (task: TaskRecord, fn: () => void, ms: number): void => {
    (task.cancelTimers ??= []).push(clock.setTimer(fn, ms));
  };

  const runSink: RunSink = {
    progress: (task, snapshot) => receiveProgress(task, snapshot),
    output: (task, record) => receiveOutput(task, record),
    internalError: reportInternal,
  };

  const execute = (task: TaskRecord): void => {
    const slot = task.executor;
    slot.running++;
    task.holdsSlot = true;
    task.startedAt = clock.now();
    if (task.progress === INITIAL_PROGRESS) setProgress(task, RUNNING_PROGRESS);
    const context = new ServiceRunContext(task, ++task.run, runSink, task.args ?? NO_ARGS);
    task.activeRun = context;
    if (task.timeoutMs !== null) armTimer(task, () => cancelTask(task, 'timeout'), task.timeoutMs);

    let outcome: Promise<RunOutcome>;
    try {
      outcome = slot.executor.run(context);
    } catch (error) {
      outcome = Promise.resolve({ status: 'failed', error: toTaskFailure(error) });
    }
    outcome.then(
      (result) => {
        if (context.isLive()) settle(task, result);
      },
      (error: unknown) => {
        if (context.isLive()) settle(task, { status: 'failed', error: toTaskFailure(error) });
      },
    );
  };

  const settle = (task: TaskRecord, outcome: RunOutcome): void => {
    if (outcome.status === 'completed') apply(task, 'complete', { result: outcome.result });
    else if (outcome.status === 'failed') apply(task, 'fail', { error: outcome.error });
    else apply(task, 'stopped');
  };

  const receiveProgress = (task: TaskRecord, update: unknown): void => {
    try {
      setProgress(task, applyProgress(task.progress, update ?? {}));
    } catch (error) {
      reportInternal(error); // an executor sent an invalid reading; keep the last good one
    }
  };

  const setProgress = (task: TaskRecord, next: ProgressSnapshot): void => {
    if (
      next.percentComplete === task.progress.percentComplete &&
      next.statusMessage === task.progress.statusMessage
    ) {
      return;
    }
    task.progress = next;
    if (hasListeners(task)) emit(task, { type: 'progress', taskId: task.id, progress: next });
  };

  const receiveOutput = (task: TaskRecord, record: OutputRecord): void => {
    if (typeof record?.text !== 'string' || !STREAMS.has(record.stream)) {
      reportInternal(
        new TaskError('INVALID_ARGUMENT', `Invalid output record from executor for task ${task.id}.`),
      );
      return;
    }
    const text =
      record.text.length > maxRecordLength
        ? `${record.text.slice(0, maxRecordLength)}… [truncated]`
        : record.text;
    const buffer = (task.output ??= new OutputBuffer(maxRecords));
    const sequenced = buffer.push({
      stream: record.stream,
      text,
      time: typeof record.time === 'number' ? record.time : clock.now(),
    });
    if (hasListeners(task)) emit(task, { type: 'output', taskId: task.id, record: sequenced });
  };

  const endOf = (task: TaskRecord, event: TaskEvent, detail?: string): TaskEnd => {
    if (task.state === 'Completed') return COMPLETED_END;
    if (task.state === 'Failed') return FAILED_END;
    const by = task.stopBy ?? 'script';
    const reason = by === 'timeout' ? 'timedOut' : 'cancelled';
    const end: TaskEnd = { reason, forced: event === 'force', by };
    return detail === undefined ? end : { ...end, detail };
  };

  const finish = (task: TaskRecord, from: TaskState, event: TaskEvent): void => {
    task.completedAt = clock.now();
    if (task.end === null) {
      task.end =
        from === 'NotStarted'
          ? { ...endOf(task, event), detail: CANCELLED_BEFORE_START }
          : endOf(task, event);
    } else if (event === 'force') {
      task.end = { ...task.end, forced: true };
    }
    task.progress = finalProgress(task);
    if (task.holdsSlot) {
      task.holdsSlot = false;
      task.executor.running--;
    }
    if (task.cancelTimers) for (const cancelTimer of task.cancelTimers) cancelTimer();
    task.cancelTimers = null;
    task.activeRun = null;
    task.args = null;
    const prepared = task.prepared;
    task.prepared = null;
    if (prepared !== null && task.executor.executor.release) {
      try {
        task.executor.executor.release(prepared);
      } catch (error) {
        reportInternal(error);
      }
    }
    if (hasListeners(task)) {
      emit(task, { type: 'state', taskId: task.id, from, to: task.state, task: toSnapshot(task) });
    }
    // The freed slot goes to the next queued task first, so its run is on its way (a message to a
    // worker or a host) while this task's waiters and retention are dealt with.
    if (!disposed) pump(task.executor);
    const waiters = task.waiters;
    task.waiters = null;
    if (waiters) for (const wake of waiters) wake(task);
    finishedOrder.push(task);
    finishedCount++;
    if (!disposed) enforceRetention();
  };

  const finalProgress = (task: TaskRecord): ProgressSnapshot => {
    const { percentComplete } = task.progress;
    switch (task.state) {
      case 'Completed':
        // Keep the script's own final message when it said it was done (100%).
        return percentComplete === 100 ? task.progress : COMPLETED_PROGRESS;
      case 'Failed':
        return { percentComplete, statusMessage: 'Failed' };
      default:
        return { percentComplete, statusMessage: stoppedMessage(task.end) };
    }
  };

  // --- removal and retention --------------------------------------------------------------------
  /** The first unfinished task in the subtree, if any. */
  const unfinishedIn = (task: TaskRecord): TaskRecord | undefined => {
    if (!isFinished(task.state)) return task;
    for (const child of task.children ?? []) {
      const found = unfinishedIn(child);
      if (found) return found;
    }
    return undefined;
  };

  const deleteTree = (task: TaskRecord): void => {
    if (task.parent?.children) {
      const siblings = task.parent.children;
      const at = siblings.indexOf(task);
      if (at !== -1) siblings.splice(at, 1);
    }
    const stack = [task];
    while (stack.length > 0) {
      const current = stack.pop()!;
      if (tasks.get(current.key) !== current) continue;
      tasks.delete(current.key);
      if (isFinished(current.state)) finishedCount--;
      for (const child of current.children ?? []) stack.push(child);
      if (hasListeners(current)) emit(current, { type: 'removed', taskId: current.id });
      taskListeners.delete(current.key);
    }
  };

  const removeTask = (task: TaskRecord): OperationResult => {
    const blocker = unfinishedIn(task);
    if (blocker === task) {
      return refuse(
        'INVALID_STATE',
        `Task '${task.id}' is ${task.state}; only a finished task can be removed.`,
        task,
      );
    }
    if (blocker) {
      return refuse(
        'INVALID_STATE',
        `Task '${task.id}' has an unfinished descendant '${blocker.id}' (${blocker.state}); remove it when all have finished.`,
        task,
      );
    }
    apply(task, 'remove');
    return { ok: true };
  };

  /** Evicts the oldest finished tasks past the count or age limit; arms one timer for the next expiry. */
  const enforceRetention = (): void => {
    const now = clock.now();
    // Visit each entry at most once: a task that cannot go yet (its subtree still runs) goes to the back.
    let budget = finishedOrder.length - finishedHead;
    while (budget-- > 0) {
      const oldest = finishedOrder[finishedHead]!;
      if (tasks.get(oldest.key) !== oldest) {
        finishedHead++; // removed already
        continue;
      }
      const tooMany = finishedCount > maxFinished;
      const tooOld = now - (oldest.completedAt ?? now) >= maxAgeMs;
      if (!tooMany && !tooOld) break;
      finishedHead++;
      const evictable =
        unfinishedIn(oldest) === undefined && (oldest.parent === null || isFinished(oldest.parent.state));
      if (evictable) apply(oldest, 'remove');
      else finishedOrder.push(oldest);
    }
    if (finishedHead > 1024 && finishedHead * 2 > finishedOrder.length) {
      finishedOrder.splice(0, finishedHead);
      finishedHead = 0;
    }
    const next = finishedOrder[finishedHead];
    if (next && retentionTimer === null && Number.isFinite(maxAgeMs) && !disposed) {
      const due = (next.completedAt ?? now) + maxAgeMs - now;
      retentionTimer = clock.setTimer(
        () => {
          retentionTimer = null;
          enforceRetention();
        },
        Math.max(due, 0),
      );
    }
  };

  const refuse = (
    code: 'NOT_FOUND' | 'INVALID_STATE' | 'DISPOSED',
    message: string,
    task?: TaskRecord,
  ): OperationResult =>
    task ? { ok: false, code, message, state: task.state } : { ok: false, code, message };

  const notFound = (id: unknown): OperationResult =>
    disposed
      ? refuse('DISPOSED', 'The task service has been disposed.')
      : refuse('NOT_FOUND', `Task '${String(id)}' not found.`);

  // --- the public API ---------------------------------------------------------------------------
  const service: TaskService = {
    async create(input) {
      assertAlive();
      const parsed = parseCreateInput(input, { defaultTimeoutMs });
      if (!parsed.ok) {
        throw new TaskError('INVALID_ARGUMENT', parsed.errors.join(' '));
      }
      const spec = parsed.value;
      let slot: ExecutorSlot;
      let language: string;
      if (spec.kind === 'function') {
        slot = functionSlot;
        language = FUNCTION_LANGUAGE;
      } else {
        const entry = byLanguage.get(spec.language.toLowerCase());
        if (!entry || entry.language === FUNCTION_LANGUAGE) {
          const known = [...byLanguage.keys()].filter((l) => l !== FUNCTION_LANGUAGE).join(', ') || 'none';
          throw new TaskError(
            'UNKNOWN_LANGUAGE',
            `No executor runs language '${spec.language}' (registered: ${known}).`,
          );
        }
        slot = entry.slot;
        language = entry.language;
      }
      const parent = spec.parentId === undefined ? null : (find(spec.parentId) ?? null);
      if (spec.parentId !== undefined && !parent) {
        throw new TaskError('INVALID_ARGUMENT', `Parent task '${spec.parentId}' does not exist.`);
      }
      const id = spec.id ?? ids.next();
      // The built-in generator's ids are lowercase already.
      const key = spec.id === undefined && ids === randomIds ? id : id.toLowerCase();
      if (tasks.has(key) || reserved.has(key)) {
        throw new TaskError('DUPLICATE_ID', `Task id '${id}' already exists.`, { taskId: id });
      }

      let prepared: unknown;
      if (spec.kind === 'function') {
        prepared = spec.run;
      } else {
        reserved.add(key);
        try {
          const outcome = await slot.executor.prepare({ language, code: spec.code, args: spec.args });
          if (!outcome.ok) {
            const first = outcome.diagnostics[0];
            const where = first ? ` (line ${first.line}, column ${first.column}: ${first.message})` : '';
            throw new TaskError('COMPILE_ERROR', `The ${language} code does not compile${where}.`, {
              diagnostics: outcome.diagnostics,
            });
          }
          prepared = outcome.prepared;
        } catch (error) {
          if (error instanceof TaskError) throw error;
          throw new TaskError(
            'EXECUTOR_ERROR',
            `The ${slot.executor.name} executor could not prepare the task: ${toTaskFailure(error).message}`,
            {
              cause: error,
            },
          );
        } finally {
          reserved.delete(key);
        }
        if (disposed) {
          slot.executor.release?.(prepared);
          throw new TaskError('DISPOSED', 'The task service was disposed while the task was being prepared.');
        }
        if (parent && tasks.get(parent.key) !== parent) {
          slot.executor.release?.(prepared);
          throw new TaskError(
            'INVALID_ARGUMENT',
            `Parent task '${parent.id}' was removed while the task was being prepared.`,
          );
        }
      }

      const task: TaskRecord = {
        id,
        key,
        name: spec.name ?? null,
        description: spec.description ?? '',
        language,
        executor: slot,
        prepared,
        args: spec.args,
        createdAt: clock.now(),
        startedAt: null,
        completedAt: null,
        state: 'NotStarted',
        progress: INITIAL_PROGRESS,
        parent,
        children: null,
        timeoutMs: spec.timeoutMs,
        result: undefined,
        error: null,
        end: null,
        output: null,
        activeRun: null,
        stopBy: null,
        run: 0,
        holdsSlot: false,
        cancelTimers: null,
        waiters: null,
        snapshot: null,
      };
      tasks.set(key, task);
      if (parent) (parent.children ??= []).push(task);
      if (hasListeners(task)) emit(task, { type: 'created', taskId: id, task: toSnapshot(task) });
      if (spec.autoStart) apply(task, 'start');
      return id;
    },

    start: (id) => service.tryStart(id).ok,
    tryStart(id) {
      const task = find(id);
      if (!task || disposed) return notFound(id);
      if (apply(task, 'start')) return { ok: true };
      return refuse(
        'INVALID_STATE',
        `Task '${task.id}' is ${task.state}; only a NotStarted task can be started.`,
        task,
      );
    },

    cancel: (id) => service.tryCancel(id).ok,
    tryCancel(id) {
      const task = find(id);
      if (!task) return notFound(id);
      if (cancelTask(task, 'caller')) return { ok: true };
      return refuse('INVALID_STATE', `Task '${task.id}' is ${task.state}; it has already finished.`, task);
    },

    remove: (id) => service.tryRemove(id).ok,
    tryRemove(id) {
      const task = find(id);
      if (!task) return notFound(id);
      return removeTask(task);
    },

    get(id) {
      const task = find(id);
      return task ? toSnapshot(task, true) : undefined;
    },

    state: (id) => find(id)?.state,

    result(id) {
      const task = find(id);
      if (!task || !isFinished(task.state)) return undefined;
      return task.state === 'Completed' ? task.result : null;
    },

    output(id, { afterSeq = 0, limit } = {}) {
      const task = find(id);
      if (!task) return undefined;
      const buffer = task.output;
      return {
        records: buffer ? buffer.read(afterSeq, limit) : [],
        dropped: buffer?.dropped ?? 0,
        nextSeq: buffer?.nextSeq ?? 1,
      };
    },

    list({ state, parentId, offset = 0, limit = Number.POSITIVE_INFINITY } = {}) {
      const states =
        state === undefined ? null : new Set<TaskState>(typeof state === 'string' ? [state] : state);
      const parentKey = typeof parentId === 'string' ? parentId.toLowerCase() : parentId;
      const matched: TaskSnapshot[] = [];
      let total = 0;
      for (const task of tasks.values()) {
        if (states && !states.has(task.state)) continue;
        if (parentKey === null && task.parent !== null) continue;
        if (typeof parentKey === 'string' && task.parent?.key !== parentKey) continue;
        if (total >= offset && matched.length < limit) matched.push(toSnapshot(task, true));
        total++;
      }
      return { tasks: matched, total };
    },

    setName(id, name) {
      if (typeof name !== 'string' || name.trim() === '') {
        throw new TaskError('INVALID_ARGUMENT', 'A task name must be a non-blank string.');
      }
      const task = find(id);
      if (!task) return false;
      task.name = name;
      return true;
    },

    setDescription(id, description) {
      if (typeof description !== 'string') {
        throw new TaskError('INVALID_ARGUMENT', 'A task description must be a string.');
      }
      const task = find(id);
      if (!task) return false;
      task.description = description;
      return true;
    },

    wait(id, { timeoutMs } = {}) {
      const task = find(id);
      if (!task)
        return Promise.reject(
          new TaskError('NOT_FOUND', `Task '${String(id)}' not found.`, { taskId: String(id) }),
        );
      if (isFinished(task.state)) return Promise.resolve(toSnapshot(task));
      return new Promise<TaskSnapshot>((resolve) => {
        let cancelTimer: (() => void) | null = null;
        const wake = (done: TaskRecord): void => {
          cancelTimer?.();
          resolve(toSnapshot(done));
        };
        (task.waiters ??= []).push(wake);
        if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
          cancelTimer = clock.setTimer(
            () => {
              const at = task.waiters?.indexOf(wake) ?? -1;
              if (at !== -1) task.waiters!.splice(at, 1);
              resolve(toSnapshot(task));
            },
            Math.max(0, timeoutMs),
          );
        }
      });
    },

    subscribe(listener, { taskId } = {}) {
      if (taskId === undefined) {
        listeners.add(listener);
        return () => void listeners.delete(listener);
      }
      const key = taskId.toLowerCase();
      let set = taskListeners.get(key);
      if (!set) taskListeners.set(key, (set = new Set()));
      set.add(listener);
      return () => {
        const current = taskListeners.get(key);
        current?.delete(listener);
        if (current?.size === 0) taskListeners.delete(key);
      };
    },

    languages: () =>
      [...new Set([...byLanguage.values()].map((e) => e.language))].filter((l) => l !== FUNCTION_LANGUAGE),

    async health() {
      const report: Awaited<ReturnType<TaskService['health']>> = {};
      for (const [name, slot] of slots) {
        let health: { ok: boolean; detail?: string };
        try {
          health = await slot.executor.health();
        } catch (error) {
          health = { ok: false, detail: toTaskFailure(error).message };
        }
        report[name] = { ...health, queued: slot.queue.size, running: slot.running, limit: slot.limit };
      }
      return report;
    },

    async dispose() {
      if (disposed) return { stopped: [], abandoned: [] };
      disposed = true;
      retentionTimer?.();
      const pending = [...tasks.values()].filter((t) => !isFinished(t.state));
      const ended = pending.map(
        (task) =>
          new Promise<TaskRecord>((resolve) => {
            (task.waiters ??= []).push(resolve);
          }),
      );
      // Queued tasks first, so cancelling a running one does not start the next in line.
      for (const task of pending)
        if (task.state === 'Queued' || task.state === 'NotStarted') cancelTask(task, 'dispose');
      for (const task of pending) cancelTask(task, 'dispose');
      const finished = await Promise.all(ended);
      const abandoned = finished.filter((t) => t.end?.forced).map((t) => t.id);
      const stopped = finished.filter((t) => !t.end?.forced).map((t) => t.id);
      await Promise.all(
        [...slots.values()].map((slot) =>
          slot.executor.dispose().catch((error: unknown) => reportInternal(error)),
        ),
      );
      listeners.clear();
      taskListeners.clear();
      return { stopped, abandoned };
    },
  };
  return service;
}

function stoppedMessage(end: TaskEnd | null): string {
  if (end?.detail === CANCELLED_BEFORE_START) return CANCELLED_BEFORE_START;
  if (end?.reason === 'timedOut') return end.forced ? 'Timed out (stopped by force)' : 'Timed out';
  return end?.forced ? 'Cancelled (stopped by force)' : 'Cancelled';
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new TaskError('INVALID_ARGUMENT', `${name} must be a number >= 0.`);
  }
  return value;
}

export type { OutputStream };
