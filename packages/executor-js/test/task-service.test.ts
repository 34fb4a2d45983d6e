import { createTaskService, isTaskError } from '@kr/core';
import type { TaskService, TaskServiceEvent } from '@kr/core';
import { describeExecutorContract } from '@kr/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJsExecutor } from '../dist/index.js';

describeExecutorContract({
  name: 'javascript',
  language: 'javascript',
  createExecutor: () => createJsExecutor({ poolSize: 2 }),
  gracePeriodMs: 300,
  scripts: {
    answer: '40 + 2',
    greet: '`Hello, ${name}!`',
    printsHello: 'console.log("hello")',
    throwsOnLine2: 'const x = 1;\nthrow new Error("kaboom")',
    syntaxErrorOnLine2: 'const x = 1;\nconst = 2;',
    progressThenWait:
      'TaskProgress.update({ percentComplete: 50, statusMessage: "half way" });\nawait new Promise((resolve, reject) => {\n  const t = setTimeout(resolve, 60_000);\n  signal.addEventListener("abort", () => { clearTimeout(t); reject(signal.reason); });\n});',
    ignoresCancel: 'const end = Date.now() + 60_000;\nwhile (Date.now() < end) {}',
    blankStatus: 'TaskProgress.statusMessage = " ";',
  },
});

describeExecutorContract({
  name: 'typescript',
  language: 'typescript',
  createExecutor: () => createJsExecutor({ poolSize: 2 }),
  gracePeriodMs: 300,
  scripts: {
    answer: 'const answer: number = 40 + 2;\nanswer',
    greet: 'const greeting: string = `Hello, ${name as string}!`;\ngreeting',
    printsHello: 'const text: string = "hello";\nconsole.log(text)',
    throwsOnLine2: 'const x: number = 1;\nthrow new Error("kaboom" as string)',
    syntaxErrorOnLine2: 'const x: number = 1;\nconst y: = 2;',
    progressThenWait:
      'TaskProgress.update({ percentComplete: 50, statusMessage: "half way" });\nawait new Promise<void>((resolve, reject) => {\n  const t = setTimeout(resolve, 60_000);\n  signal.addEventListener("abort", () => { clearTimeout(t); reject(signal.reason); });\n});',
    ignoresCancel: 'const end: number = Date.now() + 60_000;\nwhile (Date.now() < end) {}',
    blankStatus: 'TaskProgress.statusMessage = " " as string;',
  },
});

describe('createJsExecutor in the task service', () => {
  let service: TaskService;

  beforeAll(() => {
    service = createTaskService({
      executors: [createJsExecutor({ poolSize: 2, maxMemoryMb: 48 })],
      gracePeriodMs: 200,
    });
  });

  afterAll(async () => {
    await service.dispose();
  }, 30_000);

  const runToEnd = async (language: string, code: string, args: Record<string, unknown> = {}) => {
    const id = await service.create({ language, code, args });
    service.start(id);
    return service.wait(id, { timeoutMs: 20_000 });
  };

  it.each([
    ['javascript', '1 + 1', 2],
    ['js', 'await null;\n"js"', 'js'],
    ['mjs', 'return 3', 3],
    ['typescript', 'const n: number = 4;\nn', 4],
    ['ts', 'type T = string;\nconst s: T = "ts";\ns', 'ts'],
  ])('should run %s code to Completed', async (language, code, expected) => {
    expect(await runToEnd(language, code)).toMatchObject({
      state: 'Completed',
      result: expected,
      end: { reason: 'completed', forced: false },
    });
  });

  it('should keep console output per stream on the task', async () => {
    const done = await runToEnd(
      'js',
      'console.log("out");\nconsole.info("info");\nconsole.warn("warn");\nconsole.error("err");\nconsole.debug("dbg");\n1',
    );
    expect(done.state).toBe('Completed');
    expect(service.output(done.id)!.records.map((r) => [r.stream, r.text])).toEqual([
      ['stdout', 'out'],
      ['information', 'info'],
      ['warning', 'warn'],
      ['error', 'err'],
      ['debug', 'dbg'],
    ]);
  });

  it('should refuse code with a syntax error at create, with positioned diagnostics', async () => {
    const error = await service
      .create({ language: 'ts', code: 'let a: number = 1;\n\n  let b: = 2' })
      .catch((e: unknown) => e);
    expect(isTaskError(error, 'COMPILE_ERROR')).toBe(true);
    if (isTaskError(error)) expect(error.diagnostics[0]).toMatchObject({ line: 3, column: 10 });
  });

  it('should fail a runtime error with the line in the user code', async () => {
    const done = await runToEnd('js', 'const a = {};\n\na.b.c();');
    expect(done).toMatchObject({ state: 'Failed', error: { type: 'TypeError', location: { line: 3 } } });
  });

  it('should queue tasks beyond the pool size and run them all', async () => {
    const ids = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        service.create({
          language: 'js',
          code: 'await new Promise((r) => setTimeout(r, 100));\ni',
          args: { i },
        }),
      ),
    );
    for (const id of ids) service.start(id);
    const states = ids.map((id) => service.state(id));
    expect(states.filter((s) => s === 'Running')).toHaveLength(2);
    expect(states.filter((s) => s === 'Queued')).toHaveLength(4);
    const done = await Promise.all(ids.map((id) => service.wait(id, { timeoutMs: 20_000 })));
    expect(done.map((d) => (d.state === 'Completed' ? d.result : d.state))).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('should stop a cooperative script when cancelled, keeping its progress', async () => {
    const id = await service.create({
      language: 'js',
      code: 'TaskProgress.update({ percentComplete: 30, statusMessage: "waiting" });\nconst { setTimeout: sleep } = await import("node:timers/promises");\nawait sleep(60_000, null, { signal });',
    });
    const sawProgress = nextProgress(service, id);
    service.start(id);
    await sawProgress;
    service.cancel(id);
    expect(await service.wait(id, { timeoutMs: 20_000 })).toMatchObject({
      state: 'Stopped',
      progress: { percentComplete: 30 },
      end: { reason: 'cancelled', forced: false },
    });
  });

  it('should force-stop a busy loop after the grace period while other tasks go on', async () => {
    const busy = await service.create({
      language: 'js',
      code: 'TaskProgress.percentComplete = 1;\nwhile (true) {}',
    });
    const other = await service.create({
      language: 'js',
      code: 'await new Promise((r) => setTimeout(r, 400));\n"other"',
    });
    const started = nextProgress(service, busy);
    service.start(busy);
    service.start(other);
    await started;
    service.cancel(busy);
    expect(await service.wait(busy, { timeoutMs: 20_000 })).toMatchObject({
      state: 'Stopped',
      end: { reason: 'cancelled', forced: true },
    });
    expect(await service.wait(other, { timeoutMs: 20_000 })).toMatchObject({
      state: 'Completed',
      result: 'other',
    });
    expect(await runToEnd('js', '"next"')).toMatchObject({ state: 'Completed', result: 'next' });
  });

  it('should fail a task over the memory limit and keep running the next ones', async () => {
    const done = await runToEnd(
      'js',
      'const keep = [];\nwhile (true) keep.push(new Array(100_000).fill(1.5));',
    );
    expect(done).toMatchObject({
      state: 'Failed',
      error: { type: 'OutOfMemoryError', message: expect.stringContaining('memory') },
    });
    expect(await runToEnd('js', '"alive"')).toMatchObject({ state: 'Completed', result: 'alive' });
  });

  it('should time a task out through its signal', async () => {
    const id = await service.create({
      language: 'js',
      code: 'const { setTimeout: sleep } = await import("node:timers/promises");\nawait sleep(60_000, null, { signal });',
      timeoutMs: 100,
    });
    service.start(id);
    expect(await service.wait(id, { timeoutMs: 20_000 })).toMatchObject({
      state: 'Stopped',
      end: { reason: 'timedOut' },
    });
  });

  it('should fail a result with a cycle, saying so', async () => {
    expect(await runToEnd('js', 'const a = [];\na.push(a);\na')).toMatchObject({
      state: 'Failed',
      error: { message: expect.stringContaining('The result has a cycle') },
    });
  });
});

function nextProgress(service: TaskService, taskId: string): Promise<void> {
  return new Promise((resolve) => {
    const off = service.subscribe(
      (e: TaskServiceEvent) => {
        if (e.type === 'progress' && e.progress.percentComplete > 0) {
          off();
          resolve();
        }
      },
      { taskId },
    );
  });
}
