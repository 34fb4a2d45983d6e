import { describe, expect, it } from 'vitest';
import { createTaskService, isRunCancelled, onRunCancelled } from '../src/index.js';
import type { Executor, RunContext, RunOutcome } from '../src/index.js';

/** An executor that hands each run's context to the test and finishes when told. */
function createProbe() {
  const runs: { context: RunContext; finish: (outcome: RunOutcome) => void }[] = [];
  const executor: Executor = {
    name: 'probe',
    languages: ['probe'],
    maxConcurrency: 4,
    prepare: () => Promise.resolve({ ok: true, prepared: null }),
    run: (context) => new Promise((finish) => runs.push({ context, finish })),
    forceStop: () => Promise.resolve(),
    health: () => Promise.resolve({ ok: true }),
    dispose: () => Promise.resolve(),
  };
  return { executor, runs };
}

describe('run context cancellation', () => {
  it('should call onCancel listeners once, and not after they are removed', async () => {
    const { executor, runs } = createProbe();
    const service = createTaskService({ executors: [executor] });
    const a = await service.create({ language: 'probe', code: 'a', autoStart: true });
    const b = await service.create({ language: 'probe', code: 'b', autoStart: true });
    const calls: string[] = [];
    onRunCancelled(runs[0]!.context, () => calls.push('a'));
    const stop = onRunCancelled(runs[1]!.context, () => calls.push('b'));
    stop();
    expect(isRunCancelled(runs[0]!.context)).toBe(false);
    service.cancel(a);
    service.cancel(b);
    service.cancel(a);
    expect(calls).toEqual(['a']);
    expect(isRunCancelled(runs[0]!.context)).toBe(true);
    // A listener added after the cancel runs at once.
    onRunCancelled(runs[0]!.context, () => calls.push('late'));
    expect(calls).toEqual(['a', 'late']);
    for (const run of runs) run.finish({ status: 'cancelled' });
    expect((await service.wait(a)).state).toBe('Stopped');
    await service.dispose();
  });

  it('should give an aborted signal when it is first read after the cancel, with the reason', async () => {
    const { executor, runs } = createProbe();
    const service = createTaskService({ executors: [executor] });
    const id = await service.create({ language: 'probe', code: 'x', autoStart: true });
    service.cancel(id);
    const { signal } = runs[0]!.context;
    expect(signal.aborted).toBe(true);
    expect(String(signal.reason)).toMatch(/Task cancelled/);
    runs[0]!.finish({ status: 'cancelled' });
    await service.wait(id);
    await service.dispose();
  });

  it('should abort a signal read before the cancel, as before', async () => {
    const { executor, runs } = createProbe();
    const service = createTaskService({ executors: [executor] });
    const id = await service.create({ language: 'probe', code: 'x', autoStart: true, timeoutMs: 20 });
    const { signal } = runs[0]!.context;
    const aborted = new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    await aborted;
    expect(String(signal.reason)).toMatch(/timed out/);
    runs[0]!.finish({ status: 'cancelled' });
    expect((await service.wait(id)).end).toMatchObject({ reason: 'timedOut' });
    await service.dispose();
  });
});

describe('run context reporting', () => {
  it('should take progress and output through detached functions, and ignore them once the run is over', async () => {
    const { executor, runs } = createProbe();
    const service = createTaskService({ executors: [executor] });
    const id = await service.create({ language: 'probe', code: 'x', autoStart: true });
    const { context, finish } = runs[0]!;
    const { progress, output, taskId, args } = context;
    expect(taskId).toBe(id);
    expect(args).toEqual({});
    progress({ percentComplete: 40, statusMessage: 'Halfway' });
    output({ stream: 'stdout', text: 'hello', time: 1 });
    expect(service.get(id)).toMatchObject({ progress: { percentComplete: 40, statusMessage: 'Halfway' } });
    finish({ status: 'completed', result: 1 });
    const done = await service.wait(id);
    progress({ percentComplete: 90, statusMessage: 'Late' });
    output({ stream: 'stdout', text: 'late', time: 2 });
    expect(service.get(id)).toMatchObject({ state: 'Completed', progress: done.progress });
    expect(service.output(id)?.records.map((r) => r.text)).toEqual(['hello']);
  });
});
