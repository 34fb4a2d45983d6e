import type { Diagnostic } from './executor.js';

/** Every reason the engine can refuse an operation, as one string-literal union. */
export type TaskErrorCode =
  /** No task has this id. */
  | 'NOT_FOUND'
  /** The task exists but the operation is not allowed in its current state. */
  | 'INVALID_STATE'
  /** The caller's input is malformed (blank name, bad id, non-object arguments, …). */
  | 'INVALID_ARGUMENT'
  /** A task with this id already exists. */
  | 'DUPLICATE_ID'
  /** No registered executor runs this language. */
  | 'UNKNOWN_LANGUAGE'
  /** The script did not compile or parse; see `diagnostics`. Nothing was registered. */
  | 'COMPILE_ERROR'
  /** The executor could not prepare the task for a reason other than the script (host down, …). */
  | 'EXECUTOR_ERROR'
  /** The service has been disposed. */
  | 'DISPOSED';

export interface TaskErrorOptions {
  cause?: unknown;
  diagnostics?: readonly Diagnostic[];
  taskId?: string;
  state?: string;
}

/**
 * The one error type `@kr/core` throws. Adapters map `code` to a status (HTTP 404/409/400, …).
 * A failing *script* is never a TaskError thrown at the caller: it is data on the task (`error`).
 */
export class TaskError extends Error {
  override readonly name = 'TaskError';
  readonly code: TaskErrorCode;
  readonly diagnostics: readonly Diagnostic[];
  readonly taskId: string | undefined;
  readonly state: string | undefined;

  constructor(code: TaskErrorCode, message: string, options: TaskErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.diagnostics = options.diagnostics ?? [];
    this.taskId = options.taskId;
    this.state = options.state;
  }
}

/** True when `value` is a {@link TaskError}, optionally with the given code. */
export function isTaskError(value: unknown, code?: TaskErrorCode): value is TaskError {
  return value instanceof TaskError && (code === undefined || value.code === code);
}

/** What a script failure looks like on a task: plain data, safe to serialise. */
export interface TaskFailure {
  /** Human-readable message. */
  message: string;
  /** The error's type (`TypeError`, `System.InvalidOperationException`, `RuntimeException`, …). */
  type: string;
  /** Where in the user's code, when known (1-based). */
  location?: { line: number; column?: number };
  /** Language-specific id, e.g. a PowerShell FullyQualifiedErrorId or a .NET HResult. */
  code?: string;
  /** Language-specific category, e.g. a PowerShell ErrorCategory. */
  category?: string;
  /** Stack trace, when the runtime offers one. */
  stack?: string;
}

/** Turns anything thrown across a boundary into a {@link TaskFailure}. */
export function toTaskFailure(error: unknown): TaskFailure {
  if (error instanceof Error) {
    const failure: TaskFailure = { message: error.message || String(error), type: error.name || 'Error' };
    if (error.stack) failure.stack = error.stack;
    return failure;
  }
  if (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { message?: unknown }).message === 'string'
  ) {
    const e = error as { message: string; type?: unknown };
    return { message: e.message, type: typeof e.type === 'string' ? e.type : 'Error' };
  }
  return { message: String(error), type: typeof error };
}
