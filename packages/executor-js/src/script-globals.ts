/**
 * The names every script sees besides its arguments, in the order the worker passes them. Both
 * the wrapper built at prepare time and the worker that calls it read this one list.
 */
export const SCRIPT_GLOBALS = [
  /** The task's progress: `TaskProgress.percentComplete = 40`, `TaskProgress.statusMessage = '…'`. */
  'TaskProgress',
  /** The task's id. */
  'TaskId',
  /** Aborts when the task is cancelled; pass it to `fetch`, timers, streams. */
  'signal',
  /** The same AbortSignal under the name the PowerShell and C# executors use. */
  'TaskCancellationToken',
  /** Every argument as one frozen object, including names that are not valid identifiers. */
  'TaskArgs',
  /** A console whose output goes to the task's output, per stream. */
  'console',
  /** CommonJS `require`, resolving from the process's working directory. */
  'require',
] as const;

export type ScriptGlobal = (typeof SCRIPT_GLOBALS)[number];

/** Words that cannot name a parameter, so arguments with these names stay in `TaskArgs` only. */
const RESERVED = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally for ' +
    'function if import in instanceof new null return super switch this throw true try typeof var void while with ' +
    'yield let static implements interface package private protected public await arguments eval undefined NaN Infinity'
  ).split(' '),
);

const IDENTIFIER = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200C\u200D]*$/u;

/** True when `name` can be a plain variable in a script (and does not hide a script global). */
export function isArgumentVariableName(name: string): boolean {
  return (
    IDENTIFIER.test(name) && !RESERVED.has(name) && !(SCRIPT_GLOBALS as readonly string[]).includes(name)
  );
}
