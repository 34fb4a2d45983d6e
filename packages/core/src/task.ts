import type { TaskFailure } from './errors.js';
import type { Executor, OutputRecord, OutputStream, TaskArguments } from './executor.js';
import type { ProgressSnapshot, TaskProgress } from './task-progress.js';
import type { FinishedState, TaskState } from './task-state.js';
import type { ServiceRunContext } from './service-run-context.js';

/** Why a task ended. */
export type EndReason = 'completed' | 'failed' | 'cancelled' | 'timedOut';

/** The record of how a task ended. */
export interface TaskEnd {
  readonly reason: EndReason;
  /** True when the script ignored its cancellation and was stopped by force after the grace period. */
  readonly forced: boolean;
  /** Who or what asked for the stop, when it was stopped. */
  readonly by?: 'caller' | 'parent' | 'timeout' | 'dispose' | 'script';
  /** Extra words for humans ("Cancelled before start", the error that surfaced while stopping, …). */
  readonly detail?: string;
}

/** An output record with its per-task sequence number (1-based, never reused). */
export interface SequencedOutputRecord extends OutputRecord {
  readonly seq: number;
}

interface TaskSnapshotBase {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  /** Canonical language (`powershell`, `csharp`, `vbnet`, `javascript`, `typescript`, `function`). */
  readonly language: string;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  /** When it began running; null while NotStarted/Queued, and for a task cancelled before it ran. */
  readonly startedAt: number | null;
  /** When it reached a finished state. */
  readonly completedAt: number | null;
  readonly progress: ProgressSnapshot;
  readonly parentId: string | null;
  readonly childrenIds: readonly string[];
  readonly timeoutMs: number | null;
  /** How it ended; null until finished. */
  readonly end: TaskEnd | null;
  /** How much output is held and how much the per-task cap dropped. */
  readonly output: { readonly records: number; readonly dropped: number };
}

/** A read-only copy of a task. `result` exists only on Completed, `error` only on Failed. */
export type TaskSnapshot =
  | (TaskSnapshotBase & { readonly state: 'Completed'; readonly result: unknown })
  | (TaskSnapshotBase & { readonly state: 'Failed'; readonly error: TaskFailure })
  | (TaskSnapshotBase & { readonly state: Exclude<TaskState, 'Completed' | 'Failed'> });

/** What an in-process function task receives. */
export interface TaskFunctionContext<TArgs extends TaskArguments = TaskArguments> {
  readonly taskId: string;
  readonly args: TArgs;
  readonly progress: TaskProgress;
  readonly signal: AbortSignal;
  /** Adds a line to the task's captured output. */
  readonly output: (text: string, stream?: OutputStream) => void;
}

export type TaskFunction<TResult = unknown, TArgs extends TaskArguments = TaskArguments> = (
  context: TaskFunctionContext<TArgs>,
) => TResult | Promise<TResult>;

interface CreateTaskCommon {
  /** Your own id (letters, digits, `-`, `_`, `.`; at most 128). Default: 32 random hex characters. */
  id?: string;
  /** Default `Task <id>`. */
  name?: string;
  description?: string;
  /** Makes this task a child: cancelling the parent cancels it; removing the parent removes it. */
  parentId?: string;
  /** Cancel the task (reason `timedOut`) when it runs longer than this. */
  timeoutMs?: number;
  /** Start right after creating. */
  autoStart?: boolean;
}

/** A script in one of the registered languages. */
export interface CreateCodeTask extends CreateTaskCommon {
  language: string;
  code: string;
  /** Become variables in the script. JSON-compatible values only. */
  args?: Record<string, unknown>;
  run?: never;
}

/** An in-process async function (no executor package needed). */
export interface CreateFunctionTask<TArgs extends TaskArguments = TaskArguments> extends CreateTaskCommon {
  run: TaskFunction<unknown, TArgs>;
  args?: TArgs;
  language?: never;
  code?: never;
}

export type CreateTaskInput = CreateCodeTask | CreateFunctionTask;

/** The internal, mutable task. Only the service touches it; the outside world sees snapshots. */
export interface TaskRecord {
  readonly id: string;
  readonly key: string;
  name: string | null;
  description: string;
  readonly language: string;
  readonly executor: ExecutorSlot;
  prepared: unknown;
  args: TaskArguments | null;
  readonly createdAt: number;
  startedAt: number | null;
  completedAt: number | null;
  state: TaskState;
  progress: ProgressSnapshot;
  parent: TaskRecord | null;
  children: TaskRecord[] | null;
  readonly timeoutMs: number | null;
  result: unknown;
  error: TaskFailure | null;
  end: TaskEnd | null;
  output: OutputBuffer | null;
  /** The current run's context (cancel it to abort its signal and call its listeners); null when none runs. */
  activeRun: ServiceRunContext | null;
  /** Why it is stopping, once cancel or timeout has been asked. */
  stopBy: TaskEnd['by'] | null;
  /** Increments on each run so a late outcome from an abandoned run is ignored. */
  run: number;
  holdsSlot: boolean;
  cancelTimers: (() => void)[] | null;
  waiters: ((task: TaskRecord) => void)[] | null;
  /** The last snapshot and what it was built from; see {@link toSnapshot}. */
  snapshot: SnapshotMemo | null;
}

/** What a snapshot was built from: every field of the record a snapshot shows. */
interface SnapshotMemo {
  readonly snapshot: TaskSnapshot;
  readonly state: TaskState;
  readonly progress: ProgressSnapshot;
  readonly name: string | null;
  readonly description: string;
  readonly startedAt: number | null;
  readonly completedAt: number | null;
  readonly childIds: readonly string[];
  readonly end: TaskEnd | null;
  readonly result: unknown;
  readonly error: TaskFailure | null;
  readonly outputSeq: number;
  readonly outputDropped: number;
}

function isCurrent(memo: SnapshotMemo, task: TaskRecord): boolean {
  if (
    memo.state !== task.state ||
    memo.progress !== task.progress ||
    memo.name !== task.name ||
    memo.description !== task.description ||
    memo.startedAt !== task.startedAt ||
    memo.completedAt !== task.completedAt ||
    memo.end !== task.end ||
    memo.result !== task.result ||
    memo.error !== task.error ||
    memo.outputSeq !== (task.output?.nextSeq ?? 0) ||
    memo.outputDropped !== (task.output?.dropped ?? 0)
  ) {
    return false;
  }
  const children = task.children ?? [];
  if (children.length !== memo.childIds.length) return false;
  for (let i = 0; i < children.length; i++) if (children[i]!.id !== memo.childIds[i]) return false;
  return true;
}

export interface ExecutorSlot {
  readonly executor: Executor;
  readonly limit: number;
  running: number;
  /** FIFO: a Set keeps insertion order and deletes in O(1) when a queued task is cancelled. */
  readonly queue: Set<TaskRecord>;
}

/** A ring buffer that keeps the newest `capacity` records and counts what it dropped. */
export class OutputBuffer {
  readonly #capacity: number;
  #items: SequencedOutputRecord[] = [];
  #head = 0;
  dropped = 0;
  nextSeq = 1;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#items.length;
  }

  push(record: OutputRecord): SequencedOutputRecord {
    const sequenced: SequencedOutputRecord = { ...record, seq: this.nextSeq++ };
    if (this.#capacity <= 0) {
      this.dropped++;
      return sequenced;
    }
    if (this.#items.length < this.#capacity) {
      this.#items.push(sequenced);
    } else {
      this.#items[this.#head] = sequenced;
      this.#head = (this.#head + 1) % this.#capacity;
      this.dropped++;
    }
    return sequenced;
  }

  /** Records in order, those with `seq > afterSeq`, at most `limit`. */
  read(afterSeq = 0, limit = Number.POSITIVE_INFINITY): SequencedOutputRecord[] {
    const ordered =
      this.#head === 0
        ? this.#items
        : [...this.#items.slice(this.#head), ...this.#items.slice(0, this.#head)];
    const out: SequencedOutputRecord[] = [];
    for (const r of ordered) {
      if (r.seq <= afterSeq) continue;
      if (out.length >= limit) break;
      out.push(r);
    }
    return out;
  }
}

/**
 * The public copy of a task. A task polled while nothing changed (the usual `GET /tasks/state` of a
 * finished task) gets the same frozen snapshot again instead of a new copy: building one was most
 * of the engine's cost per request. Every field the snapshot shows is compared, so a change is
 * never missed. Only `remember` callers (get, list: the polling paths) keep the snapshot on the
 * record, so tasks nobody polls do not carry a second copy of themselves.
 */
export function toSnapshot(task: TaskRecord, remember = false): TaskSnapshot {
  const memo = task.snapshot;
  if (memo !== null && isCurrent(memo, task)) return memo.snapshot;
  if (!remember) {
    // A one-off copy (wait, events): nobody else holds it, so it needs no freezing, which costs
    // more than building it.
    task.snapshot = null;
    return buildSnapshot(task);
  }
  const snapshot = freezeSnapshot(buildSnapshot(task));
  task.snapshot = {
    snapshot,
    state: task.state,
    progress: task.progress,
    name: task.name,
    description: task.description,
    startedAt: task.startedAt,
    completedAt: task.completedAt,
    childIds: snapshot.childrenIds,
    end: task.end,
    result: task.result,
    error: task.error,
    outputSeq: task.output?.nextSeq ?? 0,
    outputDropped: task.output?.dropped ?? 0,
  };
  return snapshot;
}

function buildSnapshot(task: TaskRecord): TaskSnapshot {
  // One literal, then the state's own field, rather than `{ ...base, state, result }`: copying
  // through a spread cost more than the rest of building the snapshot, and this runs once per
  // finished task (for `wait`).
  const snapshot: TaskSnapshotBase & { state: TaskState; result?: unknown; error?: TaskFailure } = {
    id: task.id,
    name: task.name ?? `Task ${task.id}`,
    description: task.description,
    language: task.language,
    createdAt: task.createdAt,
    startedAt: task.startedAt,
    completedAt: task.completedAt,
    progress: task.progress,
    parentId: task.parent?.id ?? null,
    childrenIds: task.children ? task.children.map((c) => c.id) : EMPTY_IDS,
    timeoutMs: task.timeoutMs,
    end: task.end,
    output: { records: task.output?.size ?? 0, dropped: task.output?.dropped ?? 0 },
    state: task.state,
  };
  if (task.state === 'Completed') snapshot.result = task.result;
  else if (task.state === 'Failed')
    snapshot.error = task.error ?? { message: 'Unknown error', type: 'Error' };
  return snapshot as TaskSnapshot;
}

/** A snapshot handed to more than one caller is frozen, so no caller can change another's copy. */
function freezeSnapshot(snapshot: TaskSnapshot): TaskSnapshot {
  Object.freeze(snapshot.childrenIds);
  Object.freeze(snapshot.output);
  return Object.freeze(snapshot);
}

const EMPTY_IDS: readonly string[] = Object.freeze([]);

export type { FinishedState };
