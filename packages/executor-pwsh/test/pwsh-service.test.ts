import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskService } from '@kr/core';
import type { TaskService, TaskState } from '@kr/core';
import { createPwshExecutor } from '../src/index.js';
import type { PwshExecutor } from '../src/index.js';
import { TUTORIAL, missing, sleep, waitFor } from './pwsh-env.js';

describe.skipIf(missing !== undefined)('PowerShell tasks through the task service', () => {
  let executor: PwshExecutor;
  let service: TaskService;

  const run = async (code: string, args: Record<string, unknown> = {}): Promise<string> => {
    const id = await service.create({ language: 'powershell', code, args });
    service.start(id);
    return id;
  };

  beforeAll(async () => {
    executor = createPwshExecutor({ poolSize: 8, supervisor: { restart: { initialDelayMs: 100 } } });
    service = createTaskService({ executors: [executor], gracePeriodMs: 500 });
    await executor.ready();
  });
  afterAll(async () => {
    await service?.dispose();
    await executor?.dispose();
  });

  it("should run the tutorial's task to Completed with the script's own final progress", async () => {
    const id = await run(TUTORIAL, { sec: 2 });
    await waitFor(() => service.get(id)?.progress.statusMessage === 'Sleeping (1/2)', 5_000);
    const done = await service.wait(id, { timeoutMs: 10_000 });
    expect(done.state).toBe('Completed');
    expect(done.state === 'Completed' && done.result).toMatch(/^PS task done at /);
    expect(done.progress).toEqual({ percentComplete: 100, statusMessage: 'Completed' });
    expect(service.output(id)?.records).toContainEqual(
      expect.objectContaining({ stream: 'debug', text: 'Task started, will sleep for 2 seconds' }),
    );
  });

  it('should accept the aliases pwsh, ps and ps1', async () => {
    for (const language of ['pwsh', 'ps', 'ps1']) {
      const id = await service.create({ language, code: "'ok'" });
      service.start(id);
      expect(await service.wait(id, { timeoutMs: 10_000 })).toMatchObject({
        state: 'Completed',
        result: 'ok',
        language: 'powershell',
      });
    }
  });

  it('should reach Node within 50 ms of a progress change', async () => {
    const id = await run(`
      for ($i = 1; $i -le 5; $i++) {
        $TaskProgress.StatusMessage = [string][DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
        Start-Sleep -Milliseconds 200
      }`);
    const delays: number[] = [];
    const unsubscribe = service.subscribe(
      (event) => {
        if (event.type === 'progress' && /^\d+$/.test(event.progress.statusMessage))
          delays.push(Date.now() - Number(event.progress.statusMessage));
      },
      { taskId: id },
    );
    await service.wait(id, { timeoutMs: 10_000 });
    unsubscribe();
    expect(delays.length).toBe(5);
    delays.sort((a, b) => a - b);
    expect(delays[2]).toBeLessThanOrEqual(50);
  });

  it('should coalesce a flood of progress updates', async () => {
    const id = await run(
      'for ($i = 0; $i -lt 100000; $i++) { $TaskProgress.PercentComplete = $i % 100; $TaskProgress.StatusMessage = "step $i" }',
    );
    let events = 0;
    const unsubscribe = service.subscribe((event) => event.type === 'progress' && events++, { taskId: id });
    const done = await service.wait(id, { timeoutMs: 60_000 });
    unsubscribe();
    expect(done.state).toBe('Completed');
    expect(events).toBeLessThan(5_000);
  });

  it('should queue 12 tasks on a pool of 8 (4 Queued) and complete them all', async () => {
    const ids = await Promise.all(
      Array.from({ length: 12 }, (_, i) => run(`Start-Sleep -Milliseconds 1500; ${i}`)),
    );
    await sleep(200);
    const states = ids.map((id) => service.get(id)!.state);
    expect(states.filter((s) => s === 'Running')).toHaveLength(8);
    expect(states.filter((s) => s === 'Queued')).toHaveLength(4);
    const done = await Promise.all(ids.map((id) => service.wait(id, { timeoutMs: 20_000 })));
    expect(done.map((t) => t.state)).toEqual(Array<TaskState>(12).fill('Completed'));
    expect(done.map((t) => (t.state === 'Completed' ? t.result : null))).toEqual(
      Array.from({ length: 12 }, (_, i) => i),
    );
  });

  it('should not let a variable set by one task be seen by the next', async () => {
    const first = await run("$shared = 'from the first task'; $global:g = 1; 'set'");
    await service.wait(first, { timeoutMs: 10_000 });
    const second = await run('"[$shared][$g]"');
    expect(await service.wait(second, { timeoutMs: 10_000 })).toMatchObject({
      state: 'Completed',
      result: '[][]',
    });
  });

  it('should return from cancel at once: Stopping, then Stopped within 1 s for Start-Sleep 60', async () => {
    const id = await run('Start-Sleep -Seconds 60');
    await waitFor(() => service.get(id)?.state === 'Running');
    await sleep(200);
    const t = performance.now();
    expect(service.cancel(id)).toBe(true);
    expect(performance.now() - t).toBeLessThan(50);
    expect(service.get(id)?.state).toBe('Stopping');
    const done = await service.wait(id, { timeoutMs: 5_000 });
    expect(done.state).toBe('Stopped');
    expect(done.end).toMatchObject({ forced: false });
    expect(performance.now() - t).toBeLessThan(1_000);
  });

  it('should stop a blocking .NET call by force after the grace period while other tasks go on', async () => {
    const other = await run('Start-Sleep -Milliseconds 2000; "still fine"');
    const stuck = await run('[Threading.Thread]::Sleep(600000)');
    await waitFor(() => service.get(stuck)?.state === 'Running');
    await sleep(200);
    service.cancel(stuck);
    const done = await service.wait(stuck, { timeoutMs: 10_000 });
    expect(done.state).toBe('Stopped');
    expect(done.end).toMatchObject({ forced: true });
    expect(await service.wait(other, { timeoutMs: 10_000 })).toMatchObject({
      state: 'Completed',
      result: 'still fine',
    });
    const after = await run("'pool still works'");
    expect(await service.wait(after, { timeoutMs: 10_000 })).toMatchObject({
      state: 'Completed',
      result: 'pool still works',
    });
  });

  it('should fail running tasks with the exit signal when the host is killed, then run new tasks', async () => {
    const before = await executor.ready();
    const id = await run('Start-Sleep -Seconds 30');
    await waitFor(() => service.get(id)?.state === 'Running');
    await sleep(300);
    process.kill(before.pid, 'SIGKILL');
    const failed = await service.wait(id, { timeoutMs: 10_000 });
    expect(failed.state).toBe('Failed');
    expect(failed.state === 'Failed' && failed.error.message).toBe(
      'PowerShell host exited with signal SIGKILL',
    );
    const next = await run("'after the crash'");
    expect(await service.wait(next, { timeoutMs: 30_000 })).toMatchObject({
      state: 'Completed',
      result: 'after the crash',
    });
    expect((await executor.ready()).generation).toBe(before.generation + 1);
  });

  it('should fail a task whose script throws, with the line', async () => {
    const id = await run("'a'\n'b'\nthrow 'bad thing'");
    const done = await service.wait(id, { timeoutMs: 10_000 });
    expect(done).toMatchObject({ state: 'Failed', error: { message: 'bad thing', location: { line: 3 } } });
  });

  it('should refuse a script that does not parse, with diagnostics', async () => {
    await expect(service.create({ language: 'powershell', code: 'function {' })).rejects.toMatchObject({
      code: 'COMPILE_ERROR',
      diagnostics: expect.arrayContaining([
        expect.objectContaining({ line: 1, id: 'MissingNameAfterKeyword' }),
      ]),
    });
  });
});
