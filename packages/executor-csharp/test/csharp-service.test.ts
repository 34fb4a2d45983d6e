import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskService, isTaskError } from '@kr/core';
import type { TaskService, TaskSnapshot } from '@kr/core';
import { createCSharpExecutor } from '../src/index.js';
import type { CSharpExecutor } from '../src/index.js';
import { TUTORIAL_CS, missing, mustFail, sleep, waitFor } from './csharp-env.js';

describe.runIf(mustFail)('executor-csharp prerequisites', () => {
  it('should find dotnet and the built C# host (CI=true)', () => {
    throw new Error(`Cannot run the C# tests: ${missing}`);
  });
});

describe.skipIf(missing !== undefined)('C# and VB.NET tasks through the task service', () => {
  let executor: CSharpExecutor;
  let service: TaskService;

  const start = async (language: string, code: string, args: Record<string, unknown> = {}): Promise<string> =>
    service.create({ language, code, args, autoStart: true });
  const runToEnd = async (
    language: string,
    code: string,
    args: Record<string, unknown> = {},
  ): Promise<TaskSnapshot> => service.wait(await start(language, code, args), { timeoutMs: 20_000 });
  const compileError = async (language: string, code: string) => {
    const error = await service.create({ language, code }).catch((e: unknown) => e);
    if (!isTaskError(error, 'COMPILE_ERROR')) throw new Error(`expected COMPILE_ERROR, got ${String(error)}`);
    return error.diagnostics;
  };
  const metric = async (name: string): Promise<number> => {
    const value = (await executor.health()).metrics?.[name];
    if (typeof value !== 'number') throw new Error(`no metric ${name}`);
    return value;
  };

  beforeAll(async () => {
    executor = createCSharpExecutor({
      maxConcurrency: 8,
      supervisor: { restart: { initialDelayMs: 100 } },
    });
    service = createTaskService({ executors: [executor], gracePeriodMs: 300 });
    await executor.ready();
  });
  afterAll(async () => {
    await service?.dispose();
    await executor?.dispose();
  });

  it('should name its languages, aliases and concurrency', () => {
    expect(executor.languages).toEqual(['csharp', 'vbnet']);
    expect(executor.aliases).toEqual({
      cs: 'csharp',
      'c#': 'csharp',
      csx: 'csharp',
      vb: 'vbnet',
      'vb.net': 'vbnet',
      visualbasic: 'vbnet',
    });
    expect(executor.maxConcurrency).toBe(8);
  });

  it("should run the tutorial's C# task verbatim with its progress and result", async () => {
    const id = await start('csharp', TUTORIAL_CS, { total: 1500 });
    const messages: string[] = [];
    const off = service.subscribe(
      (event) => event.type === 'progress' && messages.push(event.progress.statusMessage),
      { taskId: id },
    );
    await waitFor(() => service.get(id)?.progress.statusMessage === 'Working 2/5', 5_000);
    expect(service.get(id)?.progress).toEqual({ percentComplete: 20, statusMessage: 'Working 2/5' });
    const done = await service.wait(id, { timeoutMs: 10_000 });
    off();
    expect(done.state).toBe('Completed');
    expect(done.state === 'Completed' && done.result).toMatch(
      /^CS task done at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/,
    );
    for (let i = 1; i <= 5; i++) expect(messages).toContain(`Working ${i}/5`);
    expect(done.progress).toEqual({ percentComplete: 100, statusMessage: 'Completed' });
  });

  it('should accept every alias and report the canonical language', async () => {
    for (const [language, code, canonical] of [
      ['cs', '1', 'csharp'],
      ['c#', '1', 'csharp'],
      ['csx', '1', 'csharp'],
      ['vb', 'Return 1', 'vbnet'],
      ['vb.net', 'Return 1', 'vbnet'],
      ['visualbasic', 'Return 1', 'vbnet'],
    ] as const) {
      expect(await runToEnd(language, code)).toMatchObject({
        state: 'Completed',
        result: 1,
        language: canonical,
      });
    }
  });

  it('should declare each JSON argument kind as its typed local', async () => {
    const args = { i: 7, l: 2 ** 40, d: 2.5, s: 'text', b: true, n: null, arr: [1, 2, 3], o: { k: 'v' } };
    const done = await runToEnd(
      'csharp',
      `int ii = i; long ll = l; double dd = d; string ss = s; bool bb = b;
n = "an object local accepts anything";
System.Text.Json.Nodes.JsonNode a2 = arr, o2 = o;
new object[] { i.GetType().Name, l.GetType().Name, d.GetType().Name, s, b, n, arr[1]!.GetValue<int>(), (string)o["k"]!, arr.GetType().Name }`,
      args,
    );
    expect(done).toMatchObject({
      state: 'Completed',
      result: [
        'Int32',
        'Int64',
        'Double',
        'text',
        true,
        'an object local accepts anything',
        2,
        'v',
        'JsonArray',
      ],
    });
    const vb = await runToEnd(
      'vbnet',
      'Return i.GetType().Name & " " & l.GetType().Name & " " & d.GetType().Name & " " & s & " " & b.ToString() & " " & (n Is Nothing).ToString() & " " & arr(2).ToString()',
      args,
    );
    expect(vb).toMatchObject({ state: 'Completed', result: 'Int32 Int64 Double text True True 3' });
  });

  it('should compile and run `await Task.Delay(200, ct)` and see TaskId and TaskCancellationToken', async () => {
    const id = await start(
      'csharp',
      'await Task.Delay(200, ct);\nawait Task.Delay(1, TaskCancellationToken);\nTaskId',
    );
    expect(await service.wait(id, { timeoutMs: 10_000 })).toMatchObject({ state: 'Completed', result: id });
  });

  it('should end a task honouring ct as Stopped within a second of cancel', async () => {
    const id = await start('csharp', 'await Task.Delay(60_000, ct);\n"not reached"');
    await waitFor(() => service.get(id)?.state === 'Running');
    await sleep(200);
    const t = performance.now();
    expect(service.cancel(id)).toBe(true);
    const done = await service.wait(id, { timeoutMs: 5_000 });
    expect(performance.now() - t).toBeLessThan(1_000);
    expect(done).toMatchObject({ state: 'Stopped', end: { reason: 'cancelled', forced: false } });
  });

  it('should force-end a script that ignores its token after the grace period and discard its late result', async () => {
    const id = await start('csharp', 'System.Threading.Thread.Sleep(1500);\n"late result"');
    await waitFor(() => service.get(id)?.state === 'Running');
    await sleep(100);
    const t = performance.now();
    service.cancel(id);
    const done = await service.wait(id, { timeoutMs: 5_000 });
    expect(done).toMatchObject({ state: 'Stopped', end: { reason: 'cancelled', forced: true } });
    expect(performance.now() - t).toBeLessThan(1_400); // grace period (300 ms), not the script's 1.5 s
    await sleep(1_700); // the abandoned script ends inside the host...
    const after = service.get(id)!;
    expect(after.state).toBe('Stopped'); // ...and its result goes nowhere
    expect('result' in after).toBe(false);
    expect(await metric('abandonedRuns')).toBeGreaterThanOrEqual(1);
  });

  it('should return C# compile errors with their line and column, after using lines, and register nothing', async () => {
    const before = service.list().total;
    const diagnostics = await compileError(
      'csharp',
      'using System.Text;\nusing System.Linq;\n\nvar y = undefinedThing + 1;',
    );
    expect(diagnostics[0]).toMatchObject({ id: 'CS0103', severity: 'error', line: 4, column: 9 });
    expect(await compileError('cs', 'var a = 1;\nint b = "text";')).toEqual([
      expect.objectContaining({ id: 'CS0029', line: 2, column: 9 }),
    ]);
    expect(service.list().total).toBe(before);
  });

  it('should return VB compile errors with their line and column, after Imports lines, and register nothing', async () => {
    const before = service.list().total;
    const diagnostics = await compileError(
      'vbnet',
      'Imports System.Text\nImports System.Linq\n\nDim y = undefinedThing + 1',
    );
    expect(diagnostics[0]).toMatchObject({ id: 'BC30451', severity: 'error', line: 4, column: 9 });
    expect(service.list().total).toBe(before);
  });

  it("should run Kestrun's VB case: Await Task.Delay(50) then Return 777", async () => {
    expect(await runToEnd('vbnet', 'Await Task.Delay(50)\nReturn 777')).toMatchObject({
      state: 'Completed',
      result: 777,
    });
  });

  it('should accept VB Imports at the top and C# using directives before the code', async () => {
    expect(
      await runToEnd(
        'vbnet',
        'Imports System.Text\nImports System.Globalization\nDim sb As New StringBuilder("a")\nsb.Append(1.5.ToString(CultureInfo.InvariantCulture))\nReturn sb.ToString()',
      ),
    ).toMatchObject({ state: 'Completed', result: 'a1.5' });
    expect(
      await runToEnd(
        'csharp',
        'using System.Globalization;\nusing SB = System.Text.StringBuilder;\nnew SB("a").Append(n.ToString(CultureInfo.InvariantCulture)).ToString()',
        { n: 1.5 },
      ),
    ).toMatchObject({ state: 'Completed', result: 'a1.5' });
  });

  it('should fail on an unhandled exception with its type, message and line (C# and VB)', async () => {
    expect(
      await runToEnd('csharp', 'var a = 1;\n\nthrow new InvalidOperationException("bad " + a);'),
    ).toMatchObject({
      state: 'Failed',
      error: { type: 'System.InvalidOperationException', message: 'bad 1', location: { line: 3 } },
    });
    expect(
      await runToEnd('vbnet', 'Imports System.IO\nDim a = 1\nThrow New FileNotFoundException("vb bad")'),
    ).toMatchObject({
      state: 'Failed',
      error: { type: 'System.IO.FileNotFoundException', message: 'vb bad', location: { line: 3 } },
    });
  });

  it("should put each task's Console output in that task only, with two tasks printing at once", async () => {
    const printer = (tag: string) => `for (var i = 0; i < 30; i++)
{
    Console.WriteLine($"${tag} out {i}");
    if (i % 10 == 0) Console.Error.WriteLine($"${tag} err {i}");
    await Task.Delay(2);
    await Task.Run(() => Console.WriteLine($"${tag} pool {i}"));
}
"${tag}"`;
    const [a, b] = await Promise.all([start('csharp', printer('A')), start('csharp', printer('B'))]);
    await Promise.all([service.wait(a, { timeoutMs: 10_000 }), service.wait(b, { timeoutMs: 10_000 })]);
    for (const [id, tag, other] of [
      [a, 'A', 'B'],
      [b, 'B', 'A'],
    ] as const) {
      const records = service.output(id)!.records;
      const texts = records.map((r) => r.text.trimEnd());
      expect(texts.filter((t) => t.startsWith(`${tag} out `))).toHaveLength(30);
      expect(texts.filter((t) => t.startsWith(`${tag} pool `))).toHaveLength(30);
      expect(records.filter((r) => r.stream === 'stderr').map((r) => r.text.trimEnd())).toEqual([
        `${tag} err 0`,
        `${tag} err 10`,
        `${tag} err 20`,
      ]);
      expect(texts.some((t) => t.startsWith(other))).toBe(false);
    }
  });

  it('should not recompile a cached script: same code and argument types, new values', async () => {
    const code = 'var r = x * 2;\nr';
    expect(await runToEnd('csharp', code, { x: 1 })).toMatchObject({ result: 2 });
    const compiled = await metric('compilations');
    for (let x = 2; x <= 5; x++)
      expect(await runToEnd('csharp', code, { x })).toMatchObject({ result: 2 * x });
    expect(await metric('compilations')).toBe(compiled);
    // Another argument type is another compile (x becomes a double)...
    expect(await runToEnd('csharp', code, { x: 1.25 })).toMatchObject({ result: 2.5 });
    expect(await metric('compilations')).toBe(compiled + 1);
    // ...cached too.
    expect(await runToEnd('csharp', code, { x: 2.25 })).toMatchObject({ result: 4.5 });
    expect(await metric('compilations')).toBe(compiled + 1);
  });

  it('should fail a running task with the exit signal when the host is killed, then run new tasks', async () => {
    const before = await executor.ready();
    const id = await start('csharp', 'await Task.Delay(30_000, ct);');
    await waitFor(() => service.get(id)?.state === 'Running');
    await sleep(200);
    process.kill(before.pid, 'SIGKILL');
    const failed = await service.wait(id, { timeoutMs: 10_000 });
    expect(failed).toMatchObject({
      state: 'Failed',
      error: { message: 'C# host exited with signal SIGKILL' },
    });
    // The same code again: Node's prepare cache still has the old host's handle; the new host compiles it.
    const next = await runToEnd('csharp', 'await Task.Delay(30_000, ct);'.replace('30_000', '10'));
    expect(next).toMatchObject({ state: 'Completed' });
    expect(await runToEnd('vbnet', 'Return "after the crash"')).toMatchObject({
      state: 'Completed',
      result: 'after the crash',
    });
    expect((await executor.ready()).generation).toBe(before.generation + 1);
  });
});

describe.skipIf(missing !== undefined)('host recycling when abandoned scripts pile up', () => {
  let executor: CSharpExecutor;
  let service: TaskService;

  beforeAll(async () => {
    executor = createCSharpExecutor({ recycle: { abandonedThreshold: 2, drainTimeoutMs: 10_000 } });
    service = createTaskService({ executors: [executor], gracePeriodMs: 200 });
    await executor.ready();
  });
  afterAll(async () => {
    await service?.dispose();
    await executor?.dispose();
  });

  it('should start a new host first, let the old one finish its tasks, then kill it', async () => {
    const old = await executor.ready();
    const long = await service.create({
      language: 'csharp',
      code: 'await Task.Delay(2500);\n"finished on the old host"',
      autoStart: true,
    });
    const stuck = [];
    for (let i = 0; i < 2; i++) {
      const id = await service.create({
        language: 'csharp',
        code: `System.Threading.Thread.Sleep(60_000);\n${i}`,
        autoStart: true,
      });
      await waitFor(() => service.get(id)?.state === 'Running');
      await sleep(100);
      service.cancel(id);
      stuck.push(id);
    }
    for (const id of stuck)
      expect(await service.wait(id, { timeoutMs: 5_000 })).toMatchObject({ end: { forced: true } });
    // The second forced stop reached the threshold: a new host takes new tasks while the old one drains.
    await waitFor(() => executor.host.info?.generation === old.generation + 1, 20_000);
    expect(executor.host.draining).toBe(1);
    expect(
      await service.wait(
        await service.create({ language: 'csharp', code: 'Environment.ProcessId', autoStart: true }),
        { timeoutMs: 10_000 },
      ),
    ).toMatchObject({
      state: 'Completed',
      result: executor.host.info!.pid,
    });
    expect(await service.wait(long, { timeoutMs: 10_000 })).toMatchObject({
      state: 'Completed',
      result: 'finished on the old host',
    });
    // Drained: the old host and its stuck threads are gone.
    await waitFor(() => executor.host.draining === 0, 5_000);
    await waitFor(() => {
      try {
        process.kill(old.pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 5_000);
  });
});
