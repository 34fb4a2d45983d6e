import type { TaskFailure } from '@kr/core';
import { toTaskFailure } from '@kr/core';
import type { ColumnShift } from './prepare-script.js';

/** Where the script's frames are and how the rewrite moved columns. */
export interface ScriptPosition {
  /** `task.js` or `task.ts`, the name the script was compiled under. */
  readonly filename: string;
  readonly shift: ColumnShift | null;
}

/**
 * Turns what a script threw into a {@link TaskFailure} located in the user's code: the first stack
 * frame in the script gives `location`, columns moved by the last-expression rewrite are moved
 * back, and frames below the script (the worker and piscina) are cut from `stack`.
 *
 * @param error - anything the script threw or rejected with
 * @param position - the script's file name and column shift
 */
export function toScriptFailure(error: unknown, position: ScriptPosition): TaskFailure {
  const failure = toTaskFailure(error);
  if (
    error instanceof Error &&
    error.constructor?.name &&
    failure.type === 'Error' &&
    error.constructor.name !== 'Error'
  ) {
    failure.type = error.constructor.name;
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') failure.code = code;
  if (failure.stack === undefined) return failure;

  const name = position.filename.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // A frame reads `at f (task.js:3:9)` or `at task.js:3:9`; a SyntaxError starts with `task.js:3`.
  const frame = new RegExp(`(^|\\(|at )${name}:(\\d+)(?::(\\d+))?`, 'gm');
  let location: { line: number; column?: number } | undefined;
  const stack = failure.stack.replace(
    frame,
    (_match, lead: string, lineText: string, columnText?: string) => {
      const line = Number(lineText);
      const column =
        columnText === undefined ? undefined : toUserColumn(line, Number(columnText), position.shift);
      location ??= column === undefined ? { line } : { line, column };
      return `${lead}${position.filename}:${line}${column === undefined ? '' : `:${column}`}`;
    },
  );
  if (location) failure.location = location;
  failure.stack = trimBelowScript(stack, position.filename);
  return failure;
}

/** V8 columns are 1-based; the shift's column is 0-based. */
function toUserColumn(line: number, column: number, shift: ColumnShift | null): number {
  if (!shift || line !== shift.line || column - 1 < shift.column) return column;
  return Math.max(shift.column + 1, column - shift.length);
}

/** Frames after the script's last one belong to the worker, not to the user. */
function trimBelowScript(stack: string, filename: string): string {
  const lines = stack.split('\n');
  let last = -1;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]?.includes(`${filename}:`)) last = i;
  }
  return last < 0 ? stack : lines.slice(0, last + 1).join('\n');
}
