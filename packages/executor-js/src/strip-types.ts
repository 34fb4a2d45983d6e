import type { Diagnostic } from '@kr/core';
import type { TypeStripper } from './prepare-script.js';

// swc parses a script's top level, where `return` is illegal; inside an async function both a
// top-level `return` and `await` are fine. The head is a line of its own so columns never move.
const HEAD = '(async function () {\n';
const TAIL = '\n})';

let loading: Promise<TypeStripper> | undefined;

/**
 * Loads amaro (Node's own TypeScript stripper, swc compiled to WebAssembly) on first use, so a
 * JavaScript-only service never pays for its ~4 MB of WebAssembly.
 *
 * Strip-only mode replaces type syntax with spaces, so every line and column of the output is
 * where the user wrote it: no source map is needed for diagnostics or stack traces. TypeScript
 * that emits code (`enum`, `namespace`, parameter properties) is reported as a diagnostic, as
 * Node's `--experimental-strip-types` does.
 */
export function loadTypeStripper(): Promise<TypeStripper> {
  loading ??= import('amaro').then((amaro) => (code: string) => stripTypes(amaro.transformSync, code));
  return loading;
}

type TransformSync = (source: string, options: { mode: 'strip-only' }) => { code: string };

function stripTypes(transformSync: TransformSync, code: string): ReturnType<TypeStripper> {
  let output: string;
  try {
    output = transformSync(HEAD + code + TAIL, { mode: 'strip-only' }).code;
  } catch (error) {
    return { ok: false, diagnostics: [toDiagnostic(error, code)] };
  }
  if (
    !output.startsWith(HEAD) ||
    !output.endsWith(TAIL) ||
    output.length !== HEAD.length + code.length + TAIL.length
  ) {
    // Only code that closes the wrapper early gets here; report it where the wrapper ends.
    return {
      ok: false,
      diagnostics: [{ id: 'SyntaxError', severity: 'error', message: "Unexpected '}'", line: 1, column: 1 }],
    };
  }
  return { ok: true, code: output.slice(HEAD.length, output.length - TAIL.length) };
}

/** amaro throws a plain object: `{ code, message, startLine (1-based), startColumn (0-based), … }`. */
function toDiagnostic(error: unknown, code: string): Diagnostic {
  const e = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const lines = code.split(/\r\n|\r|\n/);
  const lastLine = lines.length;
  // The HEAD line shifts lines by one; an error at the TAIL (say, an unclosed brace) belongs to
  // the end of the user's code.
  const toLine = (n: unknown): number => Math.min(Math.max(typeof n === 'number' ? n - 1 : 1, 1), lastLine);
  const line = toLine(e.startLine);
  const pastEnd = typeof e.startLine === 'number' && e.startLine - 1 > lastLine;
  const column = pastEnd
    ? (lines[lastLine - 1]?.length ?? 0) + 1
    : (typeof e.startColumn === 'number' ? e.startColumn : 0) + 1;
  const diagnostic: Diagnostic = {
    id: typeof e.code === 'string' ? e.code : 'SyntaxError',
    severity: 'error',
    message: typeof e.message === 'string' ? e.message : String(error),
    line,
    column,
  };
  if (typeof e.endLine === 'number' && typeof e.endColumn === 'number' && !pastEnd) {
    return { ...diagnostic, endLine: toLine(e.endLine), endColumn: e.endColumn + 1 };
  }
  return diagnostic;
}
