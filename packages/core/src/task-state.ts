/**
 * The task state machine, as data.
 *
 * `TASK_TRANSITIONS` is the whole lifecycle: for each state, the operations it accepts, the state
 * they lead to and the effects the service must perform. `transition()` is the only reader. A pair
 * missing from the table is illegal and comes back as an error, never as a silent no-op.
 */

/** A task's lifecycle state. The names are the Kestrun tutorial's, plus `Queued` and `Stopping`. */
export type TaskState = 'NotStarted' | 'Queued' | 'Running' | 'Stopping' | 'Completed' | 'Failed' | 'Stopped';

/** Every state, in lifecycle order. */
export const TASK_STATES = [
  'NotStarted',
  'Queued',
  'Running',
  'Stopping',
  'Completed',
  'Failed',
  'Stopped',
] as const satisfies readonly TaskState[];

/** The terminal states: a task in one of these never changes state again. */
export type FinishedState = 'Completed' | 'Failed' | 'Stopped';
export const FINISHED_STATES = ['Completed', 'Failed', 'Stopped'] as const satisfies readonly FinishedState[];

/** True for Completed, Failed and Stopped. */
export function isFinished(state: TaskState): state is FinishedState {
  return state === 'Completed' || state === 'Failed' || state === 'Stopped';
}

/**
 * What can happen to a task. Callers drive `start`, `cancel` and `remove`; the service drives the
 * rest (`run` when a slot frees up, `timeout`, `force` after the grace period) and executors report
 * `complete`, `fail` and `stopped`.
 */
export type TaskEvent =
  'start' | 'run' | 'cancel' | 'timeout' | 'complete' | 'fail' | 'stopped' | 'force' | 'remove';

export const TASK_EVENTS = [
  'start',
  'run',
  'cancel',
  'timeout',
  'complete',
  'fail',
  'stopped',
  'force',
  'remove',
] as const satisfies readonly TaskEvent[];

/** Side effects the service performs after a transition, in order. */
export type TaskEffect =
  /** Put the task at the back of its executor's FIFO queue. */
  | 'enqueue'
  /** Take the task out of its executor's queue (it never ran). */
  | 'dequeue'
  /** Hand the task to its executor. */
  | 'execute'
  /** Signal cooperative cancellation to the running script and arm the grace-period timer. */
  | 'abort'
  /** Ask the executor to stop the task by force. */
  | 'forceStop'
  /** Cancel every unfinished child task. */
  | 'cancelChildren'
  /** The task reached a finished state: stamp it, free its slot, wake waiters, apply retention. */
  | 'finish'
  /** Delete the task and its descendants from the registry. */
  | 'delete';

export interface TransitionRule {
  readonly to: TaskState;
  readonly effects: readonly TaskEffect[];
}

/**
 * state -> event -> { next state, effects }. `remove` keeps the state (the task is deleted), so its
 * `to` is the task's own state; see {@link transition}.
 */
export const TASK_TRANSITIONS = {
  NotStarted: {
    start: { to: 'Queued', effects: ['enqueue'] },
    cancel: { to: 'Stopped', effects: ['cancelChildren', 'finish'] },
  },
  Queued: {
    run: { to: 'Running', effects: ['execute'] },
    // A queued task never ran: it passes through Stopping and is Stopped at once by `dequeue`.
    cancel: { to: 'Stopping', effects: ['dequeue', 'cancelChildren'] },
  },
  Running: {
    cancel: { to: 'Stopping', effects: ['abort', 'cancelChildren'] },
    timeout: { to: 'Stopping', effects: ['abort', 'cancelChildren'] },
    complete: { to: 'Completed', effects: ['finish'] },
    fail: { to: 'Failed', effects: ['finish'] },
    stopped: { to: 'Stopped', effects: ['finish'] },
  },
  Stopping: {
    // Asking again while it stops is accepted and changes nothing.
    cancel: { to: 'Stopping', effects: [] },
    timeout: { to: 'Stopping', effects: [] },
    // The script finished before the cancellation reached it: its work is done, keep it.
    complete: { to: 'Completed', effects: ['finish'] },
    // An error after a cancellation request is the cancellation surfacing (AbortError,
    // PipelineStoppedException, OperationCanceledException, …).
    fail: { to: 'Stopped', effects: ['finish'] },
    stopped: { to: 'Stopped', effects: ['finish'] },
    force: { to: 'Stopped', effects: ['forceStop', 'finish'] },
  },
  Completed: { remove: { to: 'Completed', effects: ['delete'] } },
  Failed: { remove: { to: 'Failed', effects: ['delete'] } },
  Stopped: { remove: { to: 'Stopped', effects: ['delete'] } },
} as const satisfies Record<TaskState, Partial<Record<TaskEvent, TransitionRule>>>;

export type TransitionResult =
  | {
      readonly ok: true;
      readonly from: TaskState;
      readonly to: TaskState;
      readonly effects: readonly TaskEffect[];
    }
  | { readonly ok: false; readonly from: TaskState; readonly event: TaskEvent };

/**
 * The one pure reader of {@link TASK_TRANSITIONS}.
 *
 * @example
 * transition('NotStarted', 'start') // { ok: true, to: 'Queued', effects: ['enqueue'] }
 * transition('Completed', 'cancel') // { ok: false }
 */
export function transition(from: TaskState, event: TaskEvent): TransitionResult {
  const rules: Partial<Record<TaskEvent, TransitionRule>> = TASK_TRANSITIONS[from];
  const rule = rules[event];
  if (!rule) return { ok: false, from, event };
  return { ok: true, from, to: rule.to, effects: rule.effects };
}
