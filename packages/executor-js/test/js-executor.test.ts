import type { Executor, OutputRecord, ProgressSnapshot, RunOutcome } from '@kr/core';
import { waitFor } from '@kr/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Worker threads need compiled JavaScript, so the executor is tested as built.
import { createJsExecutor } from '../dist/index.js';
import type { JsPrepared } from '../dist/index.js';

interface Run {
  outcome: Promise<RunOutcome>;
  output: OutputRecord[];
  progress: ProgressSnapshot[];
  controller: AbortController;
  taskId: string;
}

let executor: Executor<JsPrepared>;
let counter = 0;

beforeAll(() => {
  executor = createJsExecutor({ poolSize: 2, maxMemoryMb: 48, flushIntervalMs: 10 });
});

afterAll(async () => {
  await executor.dispose();
});

async function prepare(
  code: string,
  args: Record<string, unknown> = {},
  language = 'javascript',
): Promise<JsPrepared> {
  const result = await executor.prepare({ language, code, args });
  if (!result.ok) throw new Error(`Unexpected diagnostics: ${JSON.stringify(result.diagnostics)}`);
  return result.prepared;
}

async function start(
  code: string,
  args: Record<string, unknown> = {},
  language = 'javascript',
): Promise<Run> {
  const prepared = await prepare(code, args, language);
  const output: OutputRecord[] = [];
  const progress: ProgressSnapshot[] = [];
  const controller = new AbortController();
  const taskId = `task-${++counter}`;
  const outcome = executor.run({
    taskId,
    language,
    prepared,
    args,
    signal: controller.signal,
    progress: (p) => progress.push(p),
    output: (r) => output.push(r),
  });
  return { outcome, output, progress, controller, taskId };
}

async function run(code: string, args: Record<string, unknown> = {}, language = 'javascript') {
  const r = await start(code, args, language);
  return { ...r, outcome: await r.outcome };
}

const completed = (result: unknown) => ({ status: 'completed', result });

describe('createJsExecutor', () => {
  it('should describe itself for the service', () => {
    expect(executor).toMatchObject({
      name: 'js',
      languages: ['javascript', 'typescript'],
      maxConcurrency: 2,
    });
    expect(executor.aliases).toMatchObject({ js: 'javascript', mjs: 'javascript', ts: 'typescript' });
  });

  const results: [string, string, Record<string, unknown>, unknown][] = [
    ['the last expression', '1 + 1', {}, 2],
    [
      'the last expression after statements',
      'const x = 20;\nfunction twice(n) { return n * 2 }\ntwice(x) + 2',
      {},
      42,
    ],
    ['an explicit top-level return', 'if (a > 1) return "big";\n"small"', { a: 5 }, 'big'],
    ['null when the script ends with a declaration', 'const x = 1;', {}, null],
    ['the arguments as plain variables', 'name + " is " + age', { name: 'Ada', age: 36 }, 'Ada is 36'],
    [
      'structured arguments',
      'items.map((i) => i.n).reduce((a, b) => a + b, 0)',
      { items: [{ n: 1 }, { n: 2 }] },
      3,
    ],
    ['every argument in TaskArgs', 'TaskArgs["my-key"] + TaskArgs.a', { 'my-key': 1, a: 2 }, 3],
    ['top-level await', 'const v = await new Promise((r) => setTimeout(() => r(5), 10));\nv * 2', {}, 10],
    ['an awaited thenable last expression', 'Promise.resolve(7)', {}, 7],
    [
      'a JSON-safe conversion of the result',
      '({ at: new Date(0), n: 10n, s: new Set([1]), m: new Map([["k", undefined]]) })',
      {},
      { at: '1970-01-01T00:00:00.000Z', n: '10', s: [1], m: { k: null } },
    ],
    [
      'a dynamic import of a built-in',
      'const { basename } = await import("node:path");\nbasename("/a/b.txt")',
      {},
      'b.txt',
    ],
    ['require', 'require("node:path").extname("x.ts")', {}, '.ts'],
    [
      'its own lexical scope per task (no leaks)',
      'typeof leaked === "undefined" ? (globalThis.__count = (globalThis.__count ?? 0) + 1, "isolated-let") : "leak"',
      {},
      'isolated-let',
    ],
  ];

  it.each(results)('should return %s', async (_name, code, args, expected) => {
    expect((await run(code, args)).outcome).toEqual(completed(expected));
  });

  it('should give the script its TaskId', async () => {
    const r = await run('TaskId');
    expect(r.outcome).toEqual(completed(r.taskId));
  });

  it('should run TypeScript with its types stripped', async () => {
    const code =
      'interface User { name: string }\nconst u: User = { name: "Ada" };\nconst n = (u.name as string).length satisfies number;\nn';
    expect((await run(code, {}, 'ts')).outcome).toEqual(completed(3));
  });

  const streams: [string, string, OutputRecord['stream']][] = [
    ['console.log', 'console.log("a", 1, { b: 2 })', 'stdout'],
    ['console.info', 'console.info("a", 1, { b: 2 })', 'information'],
    ['console.warn', 'console.warn("a", 1, { b: 2 })', 'warning'],
    ['console.error', 'console.error("a", 1, { b: 2 })', 'error'],
    ['console.debug', 'console.debug("a", 1, { b: 2 })', 'debug'],
    ['console.trace', 'console.trace("a", 1, { b: 2 })', 'debug'],
    ['process.stdout.write', 'process.stdout.write("a 1 { b: 2 }\\n")', 'stdout'],
  ];

  it.each(streams)('should capture %s into the task output', async (_name, code, stream) => {
    const r = await run(code);
    expect(r.outcome.status).toBe('completed');
    expect(r.output).toHaveLength(1);
    expect(r.output[0]).toMatchObject({ stream, text: expect.stringContaining('a 1 { b: 2 }') });
    expect(typeof r.output[0]!.time).toBe('number');
  });

  it('should capture the global console of a script that never names console', async () => {
    const r = await run('globalThis["con" + "sole"].warn("via global");\n1');
    expect(r.outcome).toEqual(completed(1));
    expect(r.output.map((o) => o.text)).toEqual(['via global']);
  });

  it('should deliver all output, in order, before the outcome', async () => {
    const r = await run(
      'for (let i = 0; i < 500; i++) {\n  console.log(String(i));\n  if (i % 50 === 0) await new Promise((r) => setTimeout(r, 1));\n}\n"done"',
    );
    expect(r.outcome).toEqual(completed('done'));
    expect(r.output.map((o) => o.text)).toEqual(Array.from({ length: 500 }, (_, i) => String(i)));
  });

  it('should cap a flood of output and say how much it dropped', async () => {
    const small = createJsExecutor({ poolSize: 1, maxBufferedOutput: 100, flushIntervalMs: 60_000 });
    try {
      const prepared = await small.prepare({
        language: 'js',
        code: 'for (let i = 0; i < 50_000; i++) console.log(i);',
        args: {},
      });
      if (!prepared.ok) throw new Error('prepare failed');
      const output: OutputRecord[] = [];
      const outcome = await small.run({
        taskId: 'flood',
        language: 'javascript',
        prepared: prepared.prepared,
        args: {},
        signal: new AbortController().signal,
        progress: () => {},
        output: (r) => output.push(r),
      });
      expect(outcome.status).toBe('completed');
      // The first record goes out at once; the rest wait for the interval and overflow the buffer.
      expect(output.map((o) => o.text).slice(0, 2)).toEqual([
        '0',
        '49899 output records were dropped: the script wrote faster than they could be delivered.',
      ]);
      expect(output[1]!.stream).toBe('warning');
      expect(output).toHaveLength(102);
      expect(output.at(-1)!.text).toBe('49999');
    } finally {
      await small.dispose();
    }
  });

  describe('TaskProgress', () => {
    it('should report progress to the context', async () => {
      const r = await run(
        'TaskProgress.statusMessage = "Working";\nTaskProgress.percentComplete = 40;\nawait new Promise((r) => setTimeout(r, 50));\nTaskProgress.complete("All done")',
      );
      expect(r.outcome.status).toBe('completed');
      expect(r.progress).toContainEqual({ percentComplete: 40, statusMessage: 'Working' });
      expect(r.progress.at(-1)).toEqual({ percentComplete: 100, statusMessage: 'All done' });
    });

    const readings: [string, string, unknown][] = [
      [
        'round and clamp above 100',
        'TaskProgress.percentComplete = 150.4; TaskProgress.percentComplete',
        100,
      ],
      ['clamp below 0', 'TaskProgress.percentComplete = -5; TaskProgress.percentComplete', 0],
      ['round to an integer', 'TaskProgress.percentComplete = 33.6; TaskProgress.percentComplete', 34],
      ['start at 0% Running', '[TaskProgress.percentComplete, TaskProgress.statusMessage]', [0, 'Running']],
      [
        'keep the percentage on fail()',
        'TaskProgress.percentComplete = 30; TaskProgress.fail("x"); TaskProgress.toJSON()',
        { percentComplete: 30, statusMessage: 'x' },
      ],
      [
        'keep the percentage on cancel()',
        'TaskProgress.percentComplete = 30; TaskProgress.cancel(); TaskProgress.toJSON()',
        { percentComplete: 30, statusMessage: 'Cancelled' },
      ],
      [
        'go back to 0 on reset()',
        'TaskProgress.percentComplete = 30; TaskProgress.reset(); TaskProgress.toJSON()',
        { percentComplete: 0, statusMessage: 'Not started' },
      ],
      [
        'set both with update()',
        'TaskProgress.update({ percentComplete: 5, statusMessage: "u" }); TaskProgress.toJSON()',
        { percentComplete: 5, statusMessage: 'u' },
      ],
    ];

    it.each(readings)('should %s', async (_name, code, expected) => {
      expect((await run(code)).outcome).toEqual(completed(expected));
    });

    it('should throw a clear error inside the script for a blank status message', async () => {
      const r = await run(
        'let caught = "";\ntry { TaskProgress.statusMessage = "  "; } catch (e) { caught = e.message; }\ncaught',
      );
      expect(r.outcome).toEqual(completed(expect.stringMatching(/StatusMessage must be a non-blank string/)));
    });

    it('should fail the task when the blank-message error is not caught, at its line', async () => {
      const r = await run('TaskProgress.percentComplete = 10;\nTaskProgress.statusMessage = "";');
      expect(r.outcome).toMatchObject({
        status: 'failed',
        error: { type: 'TaskError', message: expect.stringMatching(/non-blank/), location: { line: 2 } },
      });
    });

    it('should coalesce a flood of progress updates (latest wins)', async () => {
      const r = await run(
        'for (let i = 0; i <= 1_000_000; i++) TaskProgress.percentComplete = i / 10_000;\n"ok"',
      );
      expect(r.outcome).toEqual(completed('ok'));
      expect(r.progress.length).toBeLessThan(50);
      expect(r.progress.at(-1)).toEqual({ percentComplete: 100, statusMessage: 'Running' });
    });
  });

  describe('errors', () => {
    const failures: [string, string, string, { line: number; column?: number }, string][] = [
      [
        'a JS TypeError',
        'javascript',
        'const a = 1;\nconst b = null;\n  b.x;',
        { line: 3, column: 5 },
        'TypeError',
      ],
      [
        'an error in the last expression (rewritten line)',
        'javascript',
        'const o = null;\n  o.deep',
        { line: 2, column: 5 },
        'TypeError',
      ],
      [
        'an error thrown by hand',
        'javascript',
        '\n\nthrow new RangeError("out of range")',
        { line: 3, column: 7 },
        'RangeError',
      ],
      [
        'a custom error class',
        'javascript',
        'class MyError extends Error {}\nthrow new MyError("mine")',
        { line: 2 },
        'MyError',
      ],
      [
        'an error inside a nested function',
        'javascript',
        'function f() {\n  return undefinedThing + 1;\n}\nf()',
        { line: 2 },
        'ReferenceError',
      ],
      [
        'a TS error after stripped types',
        'typescript',
        'const a: { b?: { c: number } } = {};\nconst n: number = a.b!.c;',
        { line: 2, column: 24 },
        'TypeError',
      ],
      ['an error after an await', 'javascript', 'await null;\nnull.x', { line: 2 }, 'TypeError'],
      [
        'an error thrown from a timer callback',
        'javascript',
        'setTimeout(() => {\n  throw new Error("late");\n}, 5);\nawait new Promise((r) => setTimeout(r, 1000));',
        { line: 2 },
        'Error',
      ],
    ];

    it.each(failures)(
      'should fail %s with its line in the user code',
      async (_name, language, code, location, type) => {
        const r = await run(code, {}, language);
        expect(r.outcome).toMatchObject({ status: 'failed', error: { type, location } });
        if (r.outcome.status !== 'failed') return;
        expect(r.outcome.error.stack).toMatch(/task\.(js|ts):\d+:\d+/);
        expect(r.outcome.error.stack).not.toMatch(/worker\.js|piscina/);
      },
    );

    it('should fail a throw of a non-Error with its text', async () => {
      expect((await run('throw "plain"')).outcome).toMatchObject({
        status: 'failed',
        error: { message: 'plain' },
      });
    });

    it('should fail a result with a cycle with a message saying so', async () => {
      const r = await run('const a = { b: {} };\na.b.a = a;\na');
      expect(r.outcome).toMatchObject({
        status: 'failed',
        error: {
          type: 'ResultError',
          code: 'RESULT_CYCLE',
          message: expect.stringContaining('The result has a cycle: $.b.a refers back to $'),
        },
      });
    });

    it('should report syntax errors from prepare with the line and column in the user code', async () => {
      const js = await executor.prepare({
        language: 'js',
        code: 'const a = 1;\nconst b = (;',
        args: { x: 1 },
      });
      expect(js).toMatchObject({ ok: false, diagnostics: [{ severity: 'error', line: 2, column: 12 }] });
      const ts = await executor.prepare({
        language: 'ts',
        code: 'const a: number = 1;\n\nconst b: string = ;',
        args: {},
      });
      expect(ts).toMatchObject({ ok: false, diagnostics: [{ severity: 'error', line: 3, column: 19 }] });
    });

    it('should fail a script that ends its own thread, and keep working', async () => {
      expect((await run('process.exit(3)')).outcome).toMatchObject({
        status: 'failed',
        error: { type: 'WorkerExitedError' },
      });
      expect((await run('"still here"')).outcome).toEqual(completed('still here'));
    });
  });

  describe('cancellation', () => {
    it('should abort the script signal at once and end cancelled on an AbortError', async () => {
      const r = await start(
        'TaskProgress.percentComplete = 10;\nawait new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));\n"never"',
      );
      await waitFor(() => r.progress.length > 0);
      r.controller.abort();
      expect(await r.outcome).toEqual({ status: 'cancelled' });
    });

    it('should end cancelled when a script that never looks at its signal throws after a cancel', async () => {
      const r = await start(
        'TaskProgress.percentComplete = 5;\nawait new Promise((r) => setTimeout(r, 300));\nthrow new Error("stopping")',
      );
      await waitFor(() => r.progress.length > 0);
      r.controller.abort();
      expect(await r.outcome).toEqual({ status: 'cancelled' });
    });

    it('should expose the same signal as TaskCancellationToken', async () => {
      expect(
        (await run('TaskCancellationToken === signal && signal instanceof AbortSignal')).outcome,
      ).toEqual(completed(true));
    });

    it('should let a timer promise with the signal end the task as cancelled', async () => {
      const r = await start(
        'const { setTimeout: sleep } = await import("node:timers/promises");\nTaskProgress.percentComplete = 1;\nawait sleep(60_000, null, { signal });',
      );
      await waitFor(() => r.progress.length > 0);
      r.controller.abort();
      expect(await r.outcome).toEqual({ status: 'cancelled' });
    });

    it('should let a script finish normally when it ignores a cancellation and ends', async () => {
      const r = await start(
        'TaskProgress.percentComplete = 1;\nawait new Promise((r) => setTimeout(r, 200));\n"finished anyway"',
      );
      await waitFor(() => r.progress.length > 0);
      r.controller.abort();
      expect(await r.outcome).toEqual(completed('finished anyway'));
    });

    it('should not start a task whose signal is already aborted', async () => {
      const prepared = await prepare('globalThis.__ran = true');
      const controller = new AbortController();
      controller.abort();
      const outcome = await executor.run({
        taskId: 'pre-cancelled',
        language: 'javascript',
        prepared,
        args: {},
        signal: controller.signal,
        progress: () => {},
        output: () => {},
      });
      expect(outcome).toEqual({ status: 'cancelled' });
    });

    it('should force-stop a busy loop without touching the other task, then run the next', async () => {
      const busy = await start('TaskProgress.percentComplete = 1;\nwhile (true) {}');
      const other = await start('await new Promise((r) => setTimeout(r, 300));\n"other done"');
      await waitFor(() => busy.progress.length > 0);
      busy.controller.abort(); // cooperative first: a busy loop cannot see it
      await new Promise((r) => setTimeout(r, 100));
      await executor.forceStop(busy.taskId);
      expect(await busy.outcome).toEqual({ status: 'cancelled' });
      expect(await other.outcome).toEqual(completed('other done'));
      expect((await run('"after"')).outcome).toEqual(completed('after'));
    });

    it('should ignore forceStop for an unknown or finished task', async () => {
      await expect(executor.forceStop('no-such-task')).resolves.toBeUndefined();
    });
  });

  describe('memory limit', () => {
    it('should fail a task that exceeds maxMemoryMb, replace its worker and run the next task', async () => {
      const r = await run(
        'const keep = [];\nwhile (true) keep.push(new Array(100_000).fill(Math.random()));',
      );
      expect(r.outcome).toMatchObject({
        status: 'failed',
        error: {
          type: 'OutOfMemoryError',
          code: 'ERR_WORKER_OUT_OF_MEMORY',
          message: expect.stringContaining('48 MB'),
        },
      });
      const next = await Promise.all([run('"a"'), run('"b"')]);
      expect(next.map((n) => n.outcome)).toEqual([completed('a'), completed('b')]);
    });
  });

  it('should keep prepared forms apart by language and argument names for the same code', async () => {
    const code = 'const n: number = typeof a === "undefined" ? 0 : a;\nn';
    const withA = await executor.prepare({ language: 'typescript', code, args: { a: 1 } });
    const withoutA = await executor.prepare({ language: 'typescript', code, args: {} });
    const asJs = await executor.prepare({ language: 'javascript', code, args: {} });
    expect(withA.ok && withA.prepared.parameters).toEqual(['a']);
    expect(withoutA.ok && withoutA.prepared.parameters).toEqual([]);
    // The same text is not JavaScript: the type annotation is a syntax error there.
    expect(asJs.ok).toBe(false);
    const again = await executor.prepare({ language: 'typescript', code, args: { a: 2 } });
    expect(again.ok && withA.ok && again.prepared).toBe(withA.ok && withA.prepared);
  });

  it('should report its health', async () => {
    const health = await executor.health();
    expect(health.ok).toBe(true);
    expect(health.metrics).toMatchObject({ poolSize: 2 });
  });
});

describe('createJsExecutor script delivery', () => {
  // A script's first runs carry its source; later ones only its id, and a worker that lacks it
  // (it started later, or evicted it) asks the main thread for it.
  it('should run a script on a worker that lacks it, after its source stopped travelling with runs', async () => {
    const own = createJsExecutor({ poolSize: 2, scriptCacheSize: 1 });
    try {
      const prepare = async (code: string, args: Record<string, unknown>) => {
        const r = await own.prepare({ language: 'js', code, args });
        if (!r.ok) throw new Error('prepare failed');
        return r.prepared;
      };
      const x = await prepare('await new Promise((r) => setTimeout(r, 5));\na * 2', { a: 1 });
      const y = await prepare('"y:" + b', { b: 'B' });
      const runOf = (prepared: JsPrepared, args: Record<string, unknown>, n: number) =>
        own.run({
          taskId: `d${n}`,
          language: 'javascript',
          prepared,
          args,
          signal: new AbortController().signal,
          progress: () => {},
          output: () => {},
        });
      let n = 0;
      for (let round = 0; round < 4; round++) {
        // Each worker holds one compiled script, so alternating them makes workers evict and ask.
        const outcomes = await Promise.all([
          runOf(x, { a: round }, ++n),
          runOf(y, { b: String(round) }, ++n),
          runOf(x, { a: round + 10 }, ++n),
        ]);
        expect(outcomes).toEqual([
          { status: 'completed', result: round * 2 },
          { status: 'completed', result: `y:${round}` },
          { status: 'completed', result: (round + 10) * 2 },
        ]);
      }
      const health = await own.health();
      expect(health.metrics?.scriptRequests).toBeGreaterThan(0);
    } finally {
      await own.dispose();
    }
  });
});

describe('createJsExecutor after dispose', () => {
  it('should report unhealthy and refuse to run', async () => {
    const own = createJsExecutor({ poolSize: 1 });
    const prepared = await own.prepare({ language: 'js', code: '1', args: {} });
    await own.dispose();
    expect((await own.health()).ok).toBe(false);
    if (!prepared.ok) throw new Error('prepare failed');
    const outcome = await own.run({
      taskId: 'x',
      language: 'javascript',
      prepared: prepared.prepared,
      args: {},
      signal: new AbortController().signal,
      progress: () => {},
      output: () => {},
    });
    expect(outcome).toMatchObject({ status: 'failed', error: { type: 'DisposedError' } });
  });

  it('should end running tasks cancelled when disposed', async () => {
    const own = createJsExecutor({ poolSize: 1 });
    const prepared = await own.prepare({ language: 'js', code: 'await new Promise(() => {})', args: {} });
    if (!prepared.ok) throw new Error('prepare failed');
    const outcome = own.run({
      taskId: 'x',
      language: 'javascript',
      prepared: prepared.prepared,
      args: {},
      signal: new AbortController().signal,
      progress: () => {},
      output: () => {},
    });
    await new Promise((r) => setTimeout(r, 50));
    await own.dispose();
    expect(await outcome).toEqual({ status: 'cancelled' });
  });

  it('should reject options out of range', () => {
    expect(() => createJsExecutor({ poolSize: 0 })).toThrow(/poolSize must be a positive integer/);
    expect(() => createJsExecutor({ maxMemoryMb: -1 })).toThrow(/maxMemoryMb/);
  });
});
