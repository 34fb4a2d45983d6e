import type { Diagnostic } from '@kr/core';
import { parse } from 'acorn';
import type { Node, Statement } from 'acorn';
import { base, recursive } from 'acorn-walk';
import type { RecursiveVisitors } from 'acorn-walk';
import { isArgumentVariableName, SCRIPT_GLOBALS } from './script-globals.js';

/** The languages this executor runs, by canonical name. */
export type ScriptLanguage = 'javascript' | 'typescript';

/**
 * Where the rewrite inserted text into a line of the user's code, so the worker can move runtime
 * error columns back to where the user wrote them. Line 1-based, column 0-based.
 */
export interface ColumnShift {
  readonly line: number;
  readonly column: number;
  readonly length: number;
}

/**
 * A task's code, checked and rewritten once at create time. It is plain data: the worker compiles
 * `source` (once per worker, cached) and calls it with the script globals and `parameters`.
 */
export interface PreparedScript {
  readonly language: ScriptLanguage;
  /** The name stack traces show (`task.js` / `task.ts`). */
  readonly filename: string;
  /**
   * A function expression: `(function (TaskProgress, …, arg1) { return async function () {`, a
   * newline, the user's code (types stripped), and the closing braces. The user's line N is the
   * source's line N + 1; the worker compiles it with `lineOffset: -1` so stack traces match.
   */
  readonly source: string;
  /** Argument names passed as variables, after the script globals, in this order. */
  readonly parameters: readonly string[];
  /** True when the last expression statement was rewritten to `return { value: (…) }`. */
  readonly wrapsLastExpression: boolean;
  /**
   * False when the code cannot reach its AbortSignal (it never names `signal`,
   * `TaskCancellationToken` or `eval`), so the worker can skip creating one: on Node 20 an
   * AbortSignal costs ~17 µs, more than running a trivial script.
   */
  readonly usesSignal: boolean;
  /** Likewise for `console`: a script that never names it gets no task console built for it. */
  readonly usesConsole: boolean;
  /** Likewise for `TaskProgress`: a script that never names it gets no progress object. */
  readonly usesProgress: boolean;
  readonly shift: ColumnShift | null;
}

/** What {@link toPreparedScript} gives: a script, or the reasons it cannot run. */
export type PrepareScriptResult =
  | { readonly ok: true; readonly script: PreparedScript; readonly warnings: readonly Diagnostic[] }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/** Removes TypeScript syntax without moving anything (see `strip-types.ts`). */
export type TypeStripper = (
  code: string,
) =>
  | { readonly ok: true; readonly code: string }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

export interface PrepareScriptInput {
  readonly language: ScriptLanguage;
  readonly code: string;
  /** The task's argument names; those that can be variables become parameters. */
  readonly argumentNames: readonly string[];
  /** Required for TypeScript. */
  readonly stripTypes?: TypeStripper;
}

const VALUE_OPEN = 'return { value: (';
// Over-matching (a comment, `obj.signal`) only costs an AbortSignal; under-matching is impossible
// because a script can only reach its signal by one of these names.
const SIGNAL_NAMES = /\b(?:signal|TaskCancellationToken|eval)\b/;
const CONSOLE_NAMES = /\b(?:console|eval)\b/;
const PROGRESS_NAMES = /\b(?:TaskProgress|eval)\b/;
const VALUE_CLOSE = ') }';

/**
 * Checks a script and rewrites it into a function the worker can call, the way Node's REPL does
 * for top-level `await` (lib/internal/repl/await.js): the code becomes the body of an async
 * function, and its last expression statement becomes `return { value: (expr) }` so its value is
 * the task's result. The `{ value }` wrapper keeps a returned thenable from being mistaken for the
 * function's own promise. A top-level `return` anywhere turns the rewrite off: the script then says
 * what it returns. Declarations need no hoisting here (the REPL hoists to keep them across
 * inputs); a task is one function body.
 *
 * @param input - the language, code and argument names of one task
 * @returns the script, or diagnostics positioned in the user's code (1-based line and column)
 * @example
 * const r = toPreparedScript({ language: 'javascript', code: 'const x = a + 1;\nx * 2', argumentNames: ['a'] });
 * // r.ok && r.script.wrapsLastExpression === true
 */
export function toPreparedScript(input: PrepareScriptInput): PrepareScriptResult {
  let code = input.code;
  if (input.language === 'typescript') {
    if (!input.stripTypes) throw new TypeError('TypeScript needs a type stripper.');
    const stripped = input.stripTypes(code);
    if (!stripped.ok) return stripped;
    code = stripped.code;
  }
  // A function body cannot start with `#!`; blanking it keeps every position where it was.
  if (code.startsWith('#!'))
    code = code.replace(/^#![^\r\n\u2028\u2029]*/, (line) => ' '.repeat(line.length));

  let statements: Statement[];
  try {
    const program = parse(code, {
      ecmaVersion: 'latest',
      sourceType: 'script',
      allowReturnOutsideFunction: true,
      allowAwaitOutsideFunction: true,
      // The closing `) }` must go after the expression's own parentheses: `(a, b);`.
      preserveParens: true,
      locations: true,
    });
    statements = program.body as Statement[];
  } catch (error) {
    return { ok: false, diagnostics: [toParseDiagnostic(error)] };
  }

  const warnings: Diagnostic[] = [];
  const parameters: string[] = [];
  for (const name of input.argumentNames) {
    if (isArgumentVariableName(name)) parameters.push(name);
    else {
      warnings.push({
        id: 'ArgumentNotAVariable',
        severity: 'warning',
        message: `The argument '${name}' is not a usable variable name (or would hide one of ${SCRIPT_GLOBALS.join(', ')}); read it as TaskArgs[${JSON.stringify(name)}].`,
        line: 1,
        column: 1,
      });
    }
  }

  let body = code;
  let shift: ColumnShift | null = null;
  const last = hasTopLevelReturn(statements) ? undefined : findLastExpression(statements);
  if (last) {
    body =
      code.slice(0, last.start) +
      VALUE_OPEN +
      code.slice(last.start, last.expression.end) +
      VALUE_CLOSE +
      code.slice(last.expression.end);
    shift = {
      line: last.loc?.start.line ?? 1,
      column: last.loc?.start.column ?? 0,
      length: VALUE_OPEN.length,
    };
  }

  const head = `(function (${[...SCRIPT_GLOBALS, ...parameters].join(', ')}) { return async function () {`;
  return {
    ok: true,
    script: {
      language: input.language,
      filename: input.language === 'typescript' ? 'task.ts' : 'task.js',
      source: `${head}\n${body}\n}; })`,
      parameters,
      wrapsLastExpression: last !== undefined,
      usesSignal: SIGNAL_NAMES.test(code),
      usesConsole: CONSOLE_NAMES.test(code),
      usesProgress: PROGRESS_NAMES.test(code),
      shift,
    },
    warnings,
  };
}

interface ExpressionStatementNode extends Node {
  type: 'ExpressionStatement';
  expression: Node;
  directive?: string;
}

function findLastExpression(statements: readonly Statement[]): ExpressionStatementNode | undefined {
  let i = statements.length - 1;
  while (i >= 0 && statements[i]?.type === 'EmptyStatement') i--;
  const last = statements[i];
  if (last?.type !== 'ExpressionStatement') return undefined;
  // Turning 'use strict' into a return would silently drop strict mode.
  if (last.directive === 'use strict') return undefined;
  return last;
}

/** Functions and classes own their returns; only a return in the script's own body counts. */
const RETURN_VISITORS: RecursiveVisitors<{ found: boolean }> = {
  Function() {},
  Class() {},
  ReturnStatement(_node, state) {
    state.found = true;
  },
};

function hasTopLevelReturn(statements: readonly Statement[]): boolean {
  const state = { found: false };
  for (const statement of statements) {
    recursive(statement, state, RETURN_VISITORS, base);
    if (state.found) return true;
  }
  return false;
}

function toParseDiagnostic(error: unknown): Diagnostic {
  const e = error as { message?: unknown; loc?: { line: number; column: number } };
  const message = typeof e.message === 'string' ? e.message.replace(/ \(\d+:\d+\)$/, '') : String(error);
  return {
    id: 'SyntaxError',
    severity: 'error',
    message,
    line: e.loc?.line ?? 1,
    column: (e.loc?.column ?? 0) + 1,
  };
}
