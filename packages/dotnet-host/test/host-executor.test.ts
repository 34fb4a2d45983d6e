import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutputRecord, ProgressSnapshot, RunOutcome } from '@kr/core';
import { createHostExecutor } from '../src/index.js';
import type { HostExecutor } from '../src/index.js';
import { missing, mustFail, testHostDll } from './host-env.js';

describe.runIf(mustFail)('dotnet-host prerequisites', () => {
  it('should find dotnet and the built test host (CI=true)', () => {
    throw new Error(`Cannot run the .NET host tests: ${missing}`);
  });
});

interface Run {
  outcome: Promise<RunOutcome>;
  progress: ProgressSnapshot[];
  output: OutputRecord[];
  abort: AbortController;
}

/** Alive and not a zombie (an orphan's zombie may linger where PID 1 does not reap). */
const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
};

const waitFor = async (check: () => boolean, timeoutMs = 10_000): Promise<void> => {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe.skipIf(missing !== undefined)('createHostExecutor (echo host)', () => {
  let executor: HostExecutor;
  let n = 0;

  const start = async (code: string, args: Record<string, unknown> = {}): Promise<Run> => {
    const prepared = await executor.prepare({ language: 'echo', code, args });
    if (!prepared.ok) throw new Error(JSON.stringify(prepared.diagnostics));
    const run: Run = {
      progress: [],
      output: [],
      abort: new AbortController(),
      outcome: Promise.resolve({ status: 'cancelled' }),
    };
    run.outcome = executor.run({
      taskId: `t${++n}`,
      language: 'echo',
      prepared: prepared.prepared,
      args,
      signal: run.abort.signal,
      progress: (p) => run.progress.push(p),
      output: (r) => run.output.push(r),
    });
    return run;
  };

  beforeAll(async () => {
    executor = createHostExecutor({
      name: 'echo',
      languages: ['echo'],
      maxConcurrency: 4,
      host: { name: 'Echo host', command: 'dotnet', args: [testHostDll], restart: { initialDelayMs: 50 } },
    });
    await executor.ready();
  });
  afterAll(async () => {
    await executor?.dispose();
  });

  it('should run a task and bring back progress, output and the result', async () => {
    const run = await start(
      'progress 40 half\nprint hello\nstderr oops\noutput warning careful\nresult {"a":[1,2]}',
    );
    expect(await run.outcome).toEqual({ status: 'completed', result: { a: [1, 2] } });
    expect(run.progress.at(-1)).toEqual({ percentComplete: 40, statusMessage: 'half' });
    expect(run.output.map((r) => [r.stream, r.text])).toEqual([
      ['stdout', 'hello'],
      ['stderr', 'oops'],
      ['warning', 'careful'],
    ]);
  });

  it('should pass arguments through as JSON', async () => {
    const run = await start('arg data', { data: { x: [1, 'two', null, true] } });
    expect(await run.outcome).toEqual({ status: 'completed', result: { x: [1, 'two', null, true] } });
  });

  it('should return diagnostics from prepare', async () => {
    const prepared = await executor.prepare({ language: 'echo', code: 'print a\n  syntax error', args: {} });
    expect(prepared).toEqual({
      ok: false,
      diagnostics: [{ id: 'ECHO001', severity: 'error', message: 'Syntax error.', line: 2, column: 3 }],
    });
  });

  it('should attribute console writes of concurrent tasks to the right task', async () => {
    const code = (tag: string) =>
      Array.from({ length: 20 }, (_, i) => `print ${tag}${i}\nsleep 5`).join('\n');
    const [a, b] = await Promise.all([start(code('a')), start(code('b'))]);
    await Promise.all([a.outcome, b.outcome]);
    expect(a.output.map((r) => r.text)).toEqual(Array.from({ length: 20 }, (_, i) => `a${i}`));
    expect(b.output.map((r) => r.text)).toEqual(Array.from({ length: 20 }, (_, i) => `b${i}`));
  });

  it('should coalesce a flood of progress and cap output', async () => {
    const run = await start('flood 50000');
    expect((await run.outcome).status).toBe('completed');
    expect(run.progress.length).toBeLessThan(1000);
    expect(run.progress.at(-1)).toEqual({ percentComplete: 100, statusMessage: 'step 50000' });
    expect(run.output.length).toBeLessThanOrEqual(10_001);
    // Records past the per-task cap, or past the pending cap between two flushes, are dropped and counted:
    // how many of each depends on scheduling, but together with what arrived they account for all 50,000.
    const note = run.output.at(-1)?.text ?? '';
    const dropped = Number(/dropped (\d+) output records/.exec(note)?.[1]);
    expect(dropped).toBeGreaterThanOrEqual(40_000);
    expect(dropped + run.output.length - 1).toBe(50_000);
  });

  it('should report a script failure as data', async () => {
    const run = await start('print a\nthrow nope');
    expect(await run.outcome).toMatchObject({
      status: 'failed',
      error: { message: 'nope', type: 'EchoError', location: { line: 2 } },
    });
  });

  it('should cancel at once when the signal aborts', async () => {
    const run = await start('sleep 60000');
    await new Promise((r) => setTimeout(r, 100));
    const t = performance.now();
    run.abort.abort();
    expect(await run.outcome).toEqual({ status: 'cancelled' });
    expect(performance.now() - t).toBeLessThan(1000);
  });

  it('should force-stop a task that ignores cancellation, and go on', async () => {
    const run = await start('block 600000');
    await new Promise((r) => setTimeout(r, 100));
    run.abort.abort();
    await executor.forceStop(`t${n}`);
    expect(await run.outcome).toEqual({ status: 'cancelled' });
    const next = await start('result 1');
    expect(await next.outcome).toEqual({ status: 'completed', result: 1 });
  });

  it('should fail in-flight tasks with the signal when the host is killed, restart it, and kill its children', async () => {
    const before = await executor.ready();
    const run = await start('spawn-sleep 300\nsleep 60000');
    await waitFor(() => run.output.some((r) => r.text.startsWith('child ')));
    const childPid = Number(run.output.find((r) => r.text.startsWith('child '))!.text.slice(6));
    expect(isAlive(childPid)).toBe(true);
    process.kill(before.pid, 'SIGKILL');
    const outcome = await run.outcome;
    expect(outcome).toMatchObject({
      status: 'failed',
      error: { message: 'Echo host exited with signal SIGKILL', code: 'HOST_EXITED' },
    });
    await waitFor(() => !isAlive(childPid));
    const next = await start('result "again"');
    expect(await next.outcome).toEqual({ status: 'completed', result: 'again' });
    expect((await executor.ready()).generation).toBe(before.generation + 1);
    expect((await executor.health()).ok).toBe(true);
  });

  it('should fail a task whose host exits with a code', async () => {
    const run = await start('exit 7');
    expect(await run.outcome).toMatchObject({
      status: 'failed',
      error: { message: 'Echo host exited with code 7' },
    });
  });
});

describe.skipIf(missing !== undefined)('host lifetime', () => {
  it('should not outlive the Node process that owns it, even when that process is SIGKILLed', async () => {
    const script = `
      import { createHostSupervisor } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).pathname)};
      const host = createHostSupervisor({ name: 'Echo host', command: 'dotnet', args: [${JSON.stringify(testHostDll)}] });
      const info = await host.ready();
      console.log(info.pid);
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      child.on('exit', (code) => reject(new Error(`owner exited early (${code})`)));
    });
    expect(isAlive(pid)).toBe(true);
    child.kill('SIGKILL');
    await waitFor(() => !isAlive(pid), 5_000);
  });
});
