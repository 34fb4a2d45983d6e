import { beforeAll, describe, expect, it } from 'vitest';
import { toPreparedScript } from '../src/prepare-script.js';
import type { PrepareScriptResult, TypeStripper } from '../src/prepare-script.js';
import { loadTypeStripper } from '../src/strip-types.js';

let stripTypes: TypeStripper;
beforeAll(async () => {
  stripTypes = await loadTypeStripper();
});

const js = (code: string, argumentNames: string[] = []): PrepareScriptResult =>
  toPreparedScript({ language: 'javascript', code, argumentNames });
const ts = (code: string): PrepareScriptResult =>
  toPreparedScript({ language: 'typescript', code, argumentNames: [], stripTypes });

describe('toPreparedScript', () => {
  const syntaxErrors: [string, 'javascript' | 'typescript', string, number, number][] = [
    ['a JS error on line 1', 'javascript', 'const = 1', 1, 7],
    ['a JS error on line 3', 'javascript', 'const a = 1;\nconst b = 2;\n  a +* b', 3, 6],
    ['an unclosed JS brace', 'javascript', 'if (x) {\n  y()', 2, 6],
    ['a static import in JS', 'javascript', "import fs from 'node:fs'", 1, 1],
    ['a TS error on line 2', 'typescript', 'const a: number = 1;\nlet b: = 2', 2, 8],
    [
      'a TS error after types',
      'typescript',
      'type T = { a: string };\nconst x: T = { a: "" };\n  x.a +;',
      3,
      8,
    ],
    ['TS code that needs emitting (enum)', 'typescript', 'const a = 1;\nenum E { A }', 2, 1],
  ];

  it.each(syntaxErrors)('should position %s in the user code', (_name, language, code, line, column) => {
    const result = language === 'typescript' ? ts(code) : js(code);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.diagnostics[0]).toMatchObject({ severity: 'error', line, column });
    expect(result.diagnostics[0]!.message).not.toMatch(/\(\d+:\d+\)$/);
  });

  it('should turn the last expression statement into the result', () => {
    const result = js('const x = 1;\nx + 1;');
    expect(result.ok && result.script.wrapsLastExpression).toBe(true);
    expect(result.ok && result.script.source).toContain('return { value: (x + 1) };');
  });

  it('should keep a parenthesised last expression balanced', () => {
    const result = js('({ a: 1, f() {} })');
    expect(result.ok && result.script.source).toContain('return { value: (({ a: 1, f() {} })) }');
  });

  it('should skip trailing empty statements when looking for the last expression', () => {
    const result = js('1 + 1;;;');
    expect(result.ok && result.script.wrapsLastExpression).toBe(true);
  });

  it.each([
    ['a top-level return', 'if (a) return 1;\n2'],
    ['a declaration last', 'const x = 1;'],
    ["'use strict' alone", "'use strict'"],
  ])('should leave the code as is with %s', (_name, code) => {
    const result = js(code, ['a']);
    expect(result.ok && result.script.wrapsLastExpression).toBe(false);
  });

  it('should not count a return inside a function as top-level', () => {
    const result = js('function f() { return 1 }\nf()');
    expect(result.ok && result.script.wrapsLastExpression).toBe(true);
  });

  it('should record where the rewrite moved columns', () => {
    const result = js('const a = 1;\n  a.b.c');
    expect(result.ok && result.script.shift).toEqual({
      line: 2,
      column: 2,
      length: 'return { value: ('.length,
    });
  });

  it('should pass usable argument names as parameters and warn about the others', () => {
    const result = js('1', ['a', 'my-key', 'class', 'signal', 'ünïcode']);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.script.parameters).toEqual(['a', 'ünïcode']);
    expect(result.warnings.map((w) => w.message)).toEqual([
      expect.stringContaining("'my-key'"),
      expect.stringContaining("'class'"),
      expect.stringContaining("'signal'"),
    ]);
  });

  it('should strip TypeScript types without moving anything', () => {
    const code = 'const a: number = 1;\ninterface I { x: string }\nconst b = a as number;\nb';
    const result = ts(code);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const body = result.script.source.split('\n').slice(1, -1);
    expect(body.map((line) => line.length)).toEqual(
      code.split('\n').map((line) => line.length + (line === 'b' ? 'return { value: () }'.length : 0)),
    );
    expect(result.script.filename).toBe('task.ts');
  });

  it('should accept a top-level return and await in TypeScript', () => {
    const result = ts('const x: number = await Promise.resolve(2);\nreturn x');
    expect(result.ok).toBe(true);
  });

  it.each([
    ['1 + 1', false, false, false],
    ['signal.throwIfAborted(); 1', true, false, false],
    ['TaskCancellationToken.aborted', true, false, false],
    ['console.log(1)', false, true, false],
    ['TaskProgress.percentComplete = 5', false, false, true],
    ['eval("signal")', true, true, true],
  ])(
    'should tell whether %j can reach its signal (%s), console (%s) and progress (%s)',
    (code, usesSignal, usesConsole, usesProgress) => {
      const result = js(code);
      expect(
        result.ok && {
          usesSignal: result.script.usesSignal,
          usesConsole: result.script.usesConsole,
          usesProgress: result.script.usesProgress,
        },
      ).toEqual({ usesSignal, usesConsole, usesProgress });
    },
  );

  it('should blank a hashbang line', () => {
    const result = js('#!/usr/bin/env node\n1');
    expect(result.ok && result.script.source).not.toContain('#!');
  });
});
