/** Every reason `@kr/executor-js` reports a failure of its own (not the script's), as one union. */
export type JsExecutorErrorCode =
  /** The result refers back to itself, so it has no JSON form. */
  | 'RESULT_CYCLE'
  /** The result nests deeper than the JSON-safe conversion follows. */
  | 'RESULT_TOO_DEEP'
  /** The script outgrew `maxMemoryMb`; its worker thread was stopped and replaced. */
  | 'OUT_OF_MEMORY'
  /** The worker thread ended under the script (for example `process.exit()` inside the script). */
  | 'WORKER_EXITED'
  /** The executor was disposed while the task ran. */
  | 'DISPOSED'
  /** An option passed to `createJsExecutor` is out of range. */
  | 'INVALID_OPTION';

/** The `type` a {@link TaskFailure} gets when the executor, not the script, failed the task. */
export const FAILURE_TYPES = {
  RESULT_CYCLE: 'ResultError',
  RESULT_TOO_DEEP: 'ResultError',
  OUT_OF_MEMORY: 'OutOfMemoryError',
  WORKER_EXITED: 'WorkerExitedError',
  DISPOSED: 'DisposedError',
  INVALID_OPTION: 'RangeError',
} as const satisfies Record<JsExecutorErrorCode, string>;

/**
 * An error raised by the executor itself: a result it cannot convert, a worker that died, a bad
 * option. Script errors are never wrapped in it: they travel as data on the task.
 */
export class JsExecutorError extends Error {
  override readonly name = 'JsExecutorError';
  readonly code: JsExecutorErrorCode;

  constructor(code: JsExecutorErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** True when `value` is a {@link JsExecutorError}, optionally with the given code. */
export function isJsExecutorError(value: unknown, code?: JsExecutorErrorCode): value is JsExecutorError {
  return value instanceof JsExecutorError && (code === undefined || value.code === code);
}
