import { createFakeClock, createManualExecutor, flush } from '@kr/test-utils';
import type { FakeClock, ManualExecutor } from '@kr/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTaskService, isTaskError, TaskError } from '../src/index.js';
import type { TaskService, TaskServiceEvent, TaskServiceOptions, TaskState } from '../src/index.js';

let clock: FakeClock;
let executor: ManualExecutor;
let service: TaskService;
let counter = 0;

function setup(options: Partial<TaskServiceOptions> = {}, maxConcurrency = 2): void {
  clock = createFakeClock();
  executor = createManualExecutor({ maxConcurrency });
  counter = 0;
  service = createTaskService({
    executors: [executor],
    clock,
    ids: { next: () => `t${String(++counter).padStart(3, '0')}` },
    gracePeriodMs: 1000,
    ...options,
  });
}

const create = (extra: Record<string, unknown> = {}): Promise<string> =>
  service.create({ language: 'manual', code: 'work', ...extra });

const run = (id: string) => {
  const r = executor.runs.get(id);
  if (!r) throw new Error(`task ${id} is not running`);
  return r;
};

/** Brings a new task into the given state through the public API only. */
async function taskIn(state: TaskState): Promise<string> {
  const id = await create();
  switch (state) {
    case 'NotStarted':
      return id;
    case 'Queued': {
      // Fill both slots first.
      for (let i = 0; i < 2; i++) service.start(await create());
      service.start(id);
      return id;
    }
    case 'Running':
      service.start(id);
      return id;
    case 'Stopping':
      service.start(id);
      service.cancel(id);
      return id;
    case 'Completed':
      service.start(id);
      run(id).complete('done');
      await flush();
      return id;
    case 'Failed':
      service.start(id);
      run(id).fail({ message: 'nope' });
      await flush();
      return id;
    case 'Stopped':
      service.cancel(id);
      return id;
  }
}

beforeEach(() => setup());
afterEach(async () => {
  const disposing = service.dispose();
  clock.advance(10_000); // past the grace period of whatever a test left running
  await disposing;
});

describe('createTaskService', () => {
  describe('caller operations in every state', () => {
    // state -> operation -> [accepted?, state afterwards, refusal code]
    const table: Record<
      TaskState,
      Record<'start' | 'cancel' | 'remove', [boolean, TaskState | 'gone', string?]>
    > = {
      NotStarted: {
        start: [true, 'Running'],
        cancel: [true, 'Stopped'],
        remove: [false, 'NotStarted', 'INVALID_STATE'],
      },
      Queued: {
        start: [false, 'Queued', 'INVALID_STATE'],
        cancel: [true, 'Stopped'],
        remove: [false, 'Queued', 'INVALID_STATE'],
      },
      Running: {
        start: [false, 'Running', 'INVALID_STATE'],
        cancel: [true, 'Stopping'],
        remove: [false, 'Running', 'INVALID_STATE'],
      },
      Stopping: {
        start: [false, 'Stopping', 'INVALID_STATE'],
        cancel: [true, 'Stopping'],
        remove: [false, 'Stopping', 'INVALID_STATE'],
      },
      Completed: {
        start: [false, 'Completed', 'INVALID_STATE'],
        cancel: [false, 'Completed', 'INVALID_STATE'],
        remove: [true, 'gone'],
      },
      Failed: {
        start: [false, 'Failed', 'INVALID_STATE'],
        cancel: [false, 'Failed', 'INVALID_STATE'],
        remove: [true, 'gone'],
      },
      Stopped: {
        start: [false, 'Stopped', 'INVALID_STATE'],
        cancel: [false, 'Stopped', 'INVALID_STATE'],
        remove: [true, 'gone'],
      },
    };
    const cases = Object.entries(table).flatMap(([state, ops]) =>
      Object.entries(ops).map(
        ([op, expected]) => [state as TaskState, op as 'start' | 'cancel' | 'remove', expected] as const,
      ),
    );

    it.each(cases)('should answer %s x %s as the table says', async (state, op, [accepted, after, code]) => {
      const id = await taskIn(state);
      expect(service.state(id)).toBe(state);
      const result =
        op === 'start'
          ? service.tryStart(id)
          : op === 'cancel'
            ? service.tryCancel(id)
            : service.tryRemove(id);
      expect(result.ok).toBe(accepted);
      if (!result.ok) expect(result.code).toBe(code);
      expect(service.state(id) ?? 'gone').toBe(after);
    });

    it.each(['start', 'cancel', 'remove'] as const)(
      'should report NOT_FOUND for %s of an unknown id',
      (op) => {
        const result =
          op === 'start'
            ? service.tryStart('nope')
            : op === 'cancel'
              ? service.tryCancel('nope')
              : service.tryRemove('nope');
        expect(result).toMatchObject({ ok: false, code: 'NOT_FOUND' });
        expect(service[op]('nope')).toBe(false);
      },
    );
  });

  describe('executor outcomes in every running state', () => {
    it.each([
      ['Running', 'complete', 'Completed', 'completed'],
      ['Running', 'fail', 'Failed', 'failed'],
      ['Running', 'cancelled', 'Stopped', 'cancelled'],
      ['Stopping', 'complete', 'Completed', 'completed'],
      ['Stopping', 'fail', 'Stopped', 'cancelled'],
      ['Stopping', 'cancelled', 'Stopped', 'cancelled'],
    ] as const)('should move %s + %s to %s (end: %s)', async (state, outcome, expected, reason) => {
      const id = await taskIn(state);
      const r = run(id);
      if (outcome === 'complete') r.complete(7);
      else if (outcome === 'fail') r.fail({ message: 'bad', type: 'RangeError', location: { line: 3 } });
      else r.cancelled();
      const done = await service.wait(id);
      expect(done.state).toBe(expected);
      expect(done.end?.reason).toBe(reason);
      expect(done.end?.forced).toBe(false);
      if (done.state === 'Completed') expect(done.result).toBe(7);
      if (done.state === 'Failed')
        expect(done.error).toMatchObject({ message: 'bad', type: 'RangeError', location: { line: 3 } });
      expect(done.completedAt).toBe(clock.now());
    });

    it('should treat a rejected run as a failure and a late outcome as nothing', async () => {
      const id = await taskIn('Running');
      run(id).complete(1);
      run(id).fail();
      await flush();
      expect(service.get(id)).toMatchObject({ state: 'Completed', result: 1 });
    });
  });

  describe('create', () => {
    it('should default the id to 32 lowercase hex characters and the name to "Task <id>"', async () => {
      const real = createTaskService({ executors: [createManualExecutor()] });
      const id = await real.create({ language: 'manual', code: 'x' });
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect(real.get(id)).toMatchObject({
        id,
        name: `Task ${id}`,
        description: '',
        language: 'manual',
        state: 'NotStarted',
        progress: { percentComplete: 0, statusMessage: 'Not started' },
        parentId: null,
        childrenIds: [],
        startedAt: null,
        completedAt: null,
        end: null,
      });
      await real.dispose();
    });

    it('should accept a caller id, look it up case-insensitively and reject a duplicate', async () => {
      const id = await create({ id: 'Build-42' });
      expect(id).toBe('Build-42');
      expect(service.get('build-42')?.id).toBe('Build-42');
      expect(service.start('BUILD-42')).toBe(true);
      await expect(create({ id: 'build-42' })).rejects.toMatchObject({ code: 'DUPLICATE_ID' });
    });

    it('should reject two concurrent creates of one id while the first is still compiling', async () => {
      const results = await Promise.allSettled([create({ id: 'same' }), create({ id: 'SAME' })]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect(service.list().total).toBe(1);
    });

    it('should resolve language names case-insensitively, with aliases', async () => {
      const id = await service.create({ language: 'MAN', code: 'x' });
      expect(service.get(id)?.language).toBe('manual');
    });

    it.each([
      ['a non-object', 42, 'INVALID_ARGUMENT', /must be an object/],
      [
        'an unknown language',
        { language: 'cobol', code: 'x' },
        'UNKNOWN_LANGUAGE',
        /cobol.*registered: manual/,
      ],
      ['a missing language', { code: 'x' }, 'INVALID_ARGUMENT', /language is missing/],
      ['missing code', { language: 'manual' }, 'INVALID_ARGUMENT', /code is missing/],
      ['empty code', { language: 'manual', code: '  ' }, 'INVALID_ARGUMENT', /code is empty/],
      [
        'array arguments',
        { language: 'manual', code: 'x', args: [1] },
        'INVALID_ARGUMENT',
        /arguments must be an object/,
      ],
      [
        'string arguments',
        { language: 'manual', code: 'x', args: 'a=1' },
        'INVALID_ARGUMENT',
        /arguments must be an object/,
      ],
      [
        'a bad argument name',
        { language: 'manual', code: 'x', args: { 'my var': 1 } },
        'INVALID_ARGUMENT',
        /not a valid variable name/,
      ],
      [
        'a reserved argument name',
        { language: 'manual', code: 'x', args: { TaskProgress: 1 } },
        'INVALID_ARGUMENT',
        /reserved/,
      ],
      [
        'a non-JSON argument',
        { language: 'manual', code: 'x', args: { when: new Date() } },
        'INVALID_ARGUMENT',
        /'when' is not a plain object/,
      ],
      [
        'a NaN argument',
        { language: 'manual', code: 'x', args: { n: Number.NaN } },
        'INVALID_ARGUMENT',
        /'n' is NaN/,
      ],
      [
        'a blank name',
        { language: 'manual', code: 'x', name: ' ' },
        'INVALID_ARGUMENT',
        /name must be a non-blank/,
      ],
      ['a bad id', { language: 'manual', code: 'x', id: 'a b/c' }, 'INVALID_ARGUMENT', /Invalid id/],
      [
        'a missing parent',
        { language: 'manual', code: 'x', parentId: 'ghost' },
        'INVALID_ARGUMENT',
        /Parent task 'ghost' does not exist/,
      ],
      [
        'a negative timeout',
        { language: 'manual', code: 'x', timeoutMs: -1 },
        'INVALID_ARGUMENT',
        /timeoutMs/,
      ],
      [
        'both run and code',
        { language: 'manual', code: 'x', run: () => 1 },
        'INVALID_ARGUMENT',
        /either run or language/,
      ],
    ])('should refuse %s with a typed error and register nothing', async (_label, input, code, message) => {
      const error = await service.create(input as never).catch((e: unknown) => e);
      expect(isTaskError(error, code as never)).toBe(true);
      expect((error as TaskError).message).toMatch(message);
      expect(service.list().total).toBe(0);
    });

    it('should return compile errors as diagnostics and register nothing', async () => {
      const diagnostics = [
        { id: 'E1', severity: 'error' as const, message: 'Unexpected token', line: 2, column: 5 },
      ];
      executor.failPrepare('bad code', diagnostics);
      const error = await create({ code: 'bad code' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TaskError);
      expect(error).toMatchObject({ code: 'COMPILE_ERROR', diagnostics });
      expect((error as Error).message).toContain('line 2, column 5');
      expect(service.list().total).toBe(0);
    });

    it('should turn an executor that throws while preparing into EXECUTOR_ERROR', async () => {
      executor.prepare = () => Promise.reject(new Error('host is down'));
      await expect(create()).rejects.toMatchObject({
        code: 'EXECUTOR_ERROR',
        message: expect.stringContaining('host is down'),
      });
    });

    it('should copy code arguments so later changes by the caller do not leak in', async () => {
      const args = { list: [1, 2] };
      const id = await create({ args, autoStart: true });
      args.list.push(3);
      expect(run(id).context.args).toEqual({ list: [1, 2] });
    });
  });

  describe('progress', () => {
    it('should show Running when started, the script progress while running, and 100% "Completed" at the end', async () => {
      const id = await taskIn('Running');
      expect(service.get(id)?.progress).toEqual({ percentComplete: 0, statusMessage: 'Running' });
      run(id).progress({ percentComplete: 40, statusMessage: 'Sleeping (2/5)' });
      expect(service.get(id)?.progress).toEqual({ percentComplete: 40, statusMessage: 'Sleeping (2/5)' });
      run(id).complete();
      expect((await service.wait(id)).progress).toEqual({ percentComplete: 100, statusMessage: 'Completed' });
    });

    it("should keep the script's final message when it completed its progress itself", async () => {
      const id = await taskIn('Running');
      run(id).progress({ percentComplete: 100, statusMessage: 'All 12 files copied' });
      run(id).complete();
      expect((await service.wait(id)).progress).toEqual({
        percentComplete: 100,
        statusMessage: 'All 12 files copied',
      });
    });

    it('should keep the last percentage on Failed and Stopped (Kestrun forces 100)', async () => {
      const failed = await taskIn('Running');
      run(failed).progress({ percentComplete: 30, statusMessage: 'x' });
      run(failed).fail();
      expect((await service.wait(failed)).progress).toEqual({ percentComplete: 30, statusMessage: 'Failed' });

      const stopped = await taskIn('Running');
      run(stopped).progress({ percentComplete: 60, statusMessage: 'x' });
      service.cancel(stopped);
      run(stopped).cancelled();
      expect((await service.wait(stopped)).progress).toEqual({
        percentComplete: 60,
        statusMessage: 'Cancelled',
      });

      const early = await taskIn('Stopped');
      expect(service.get(early)?.progress).toEqual({
        percentComplete: 0,
        statusMessage: 'Cancelled before start',
      });
    });

    it('should ignore an invalid reading from an executor and report it as an internal error', async () => {
      const internal: unknown[] = [];
      setup({ onInternalError: (e) => internal.push(e) });
      const id = await taskIn('Running');
      run(id).progress({ percentComplete: 10, statusMessage: 'ok' });
      run(id).progress({ percentComplete: 20, statusMessage: '' });
      expect(service.get(id)?.progress).toEqual({ percentComplete: 10, statusMessage: 'ok' });
      expect(internal).toHaveLength(1);
    });
  });

  describe('races', () => {
    it('should start a task once when start is called twice', async () => {
      const id = await create();
      expect([service.start(id), service.start(id)]).toEqual([true, false]);
      expect(executor.runs.size).toBe(1);
    });

    it('should not lose a cancel that arrives right after start', async () => {
      const id = await create();
      service.start(id);
      service.cancel(id);
      expect(service.state(id)).toBe('Stopping');
      expect(run(id).context.signal.aborted).toBe(true);
      run(id).cancelled();
      expect((await service.wait(id)).state).toBe('Stopped');
    });

    it('should keep Completed when the work finished before the cancel reached it', async () => {
      const id = await taskIn('Running');
      run(id).complete('done');
      service.cancel(id); // the outcome is still in flight
      const done = await service.wait(id);
      expect(done).toMatchObject({ state: 'Completed', result: 'done' });
      expect(service.cancel(id)).toBe(false);
    });

    it('should refuse cancel after completion and keep the task as it was', async () => {
      const id = await taskIn('Completed');
      expect(service.tryCancel(id)).toMatchObject({ ok: false, code: 'INVALID_STATE', state: 'Completed' });
      expect(service.get(id)).toMatchObject({ state: 'Completed', result: 'done' });
    });

    it('should cancel a queued task without ever running it', async () => {
      const id = await taskIn('Queued');
      const states: string[] = [];
      service.subscribe((e) => e.type === 'state' && states.push(e.to), { taskId: id });
      service.cancel(id);
      expect(states).toEqual(['Stopping', 'Stopped']);
      expect(executor.runs.has(id)).toBe(false);
      expect(service.get(id)).toMatchObject({
        state: 'Stopped',
        startedAt: null,
        end: { reason: 'cancelled', by: 'caller' },
      });
    });
  });

  describe('queueing', () => {
    it('should run at most maxConcurrency tasks and start the queue in FIFO order', async () => {
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push(await create({ autoStart: true }));
      expect(ids.map((id) => service.state(id))).toEqual([
        'Running',
        'Running',
        'Queued',
        'Queued',
        'Queued',
      ]);
      run(ids[1]!).complete();
      await flush();
      expect(service.state(ids[2]!)).toBe('Running');
      expect(service.state(ids[3]!)).toBe('Queued');
      service.cancel(ids[3]!);
      run(ids[0]!).complete();
      await flush();
      expect(service.state(ids[4]!)).toBe('Running');
    });

    it('should let the options override an executor concurrency', async () => {
      setup({ concurrency: { manual: 1 } });
      const a = await create({ autoStart: true });
      const b = await create({ autoStart: true });
      expect([service.state(a), service.state(b)]).toEqual(['Running', 'Queued']);
    });

    it('should free the slot of a task stopped by force', async () => {
      setup({}, 1);
      const stuck = await create({ autoStart: true });
      const next = await create({ autoStart: true });
      service.cancel(stuck);
      clock.advance(1000);
      expect(service.state(stuck)).toBe('Stopped');
      expect(service.state(next)).toBe('Running');
    });
  });

  describe('cancellation grace period', () => {
    it('should force-stop a task that ignores its signal after the grace period', async () => {
      const id = await taskIn('Running');
      const other = await taskIn('Running');
      service.cancel(id);
      clock.advance(999);
      expect(service.state(id)).toBe('Stopping');
      clock.advance(1);
      expect(executor.forceStopped).toEqual([id]);
      const done = await service.wait(id);
      expect(done).toMatchObject({
        state: 'Stopped',
        end: { reason: 'cancelled', forced: true, by: 'caller' },
      });
      expect(done.progress.statusMessage).toBe('Cancelled (stopped by force)');
      run(id).complete('late');
      await flush();
      expect(service.get(id)?.state).toBe('Stopped');
      expect(service.state(other)).toBe('Running');
    });

    it('should not force-stop a task that stopped in time', async () => {
      const id = await taskIn('Stopping');
      run(id).cancelled();
      await flush();
      clock.advance(5000);
      expect(executor.forceStopped).toEqual([]);
      expect(service.get(id)?.end).toEqual({ reason: 'cancelled', forced: false, by: 'caller' });
    });
  });

  describe('timeout', () => {
    it('should stop a task that runs past its timeout and record it', async () => {
      const id = await create({ timeoutMs: 500, autoStart: true });
      clock.advance(499);
      expect(service.state(id)).toBe('Running');
      clock.advance(1);
      expect(service.state(id)).toBe('Stopping');
      expect(run(id).context.signal.aborted).toBe(true);
      run(id).cancelled();
      expect(await service.wait(id)).toMatchObject({
        state: 'Stopped',
        end: { reason: 'timedOut', forced: false, by: 'timeout' },
        progress: { statusMessage: 'Timed out' },
      });
    });

    it('should force a timed-out task that ignores its signal', async () => {
      setup({ defaultTimeoutMs: 100 });
      const id = await create({ autoStart: true });
      clock.advance(100 + 1000);
      expect((await service.wait(id)).end).toEqual({ reason: 'timedOut', forced: true, by: 'timeout' });
    });

    it('should not time out a task that finished in time', async () => {
      const id = await create({ timeoutMs: 500, autoStart: true });
      run(id).complete();
      await flush();
      clock.advance(10_000);
      expect(service.get(id)?.end?.reason).toBe('completed');
    });
  });

  describe('children', () => {
    it('should link children to their parent', async () => {
      const parent = await create();
      const a = await create({ parentId: parent });
      const b = await create({ parentId: parent.toUpperCase() });
      expect(service.get(parent)?.childrenIds).toEqual([a, b]);
      expect(service.get(a)?.parentId).toBe(parent);
      expect(service.list({ parentId: parent }).tasks.map((t) => t.id)).toEqual([a, b]);
      expect(service.list({ parentId: null }).tasks.map((t) => t.id)).toEqual([parent]);
    });

    it('should cancel every unfinished descendant when the parent is cancelled', async () => {
      const parent = await create({ autoStart: true });
      const running = await create({ parentId: parent, autoStart: true });
      const notStarted = await create({ parentId: parent });
      const grandchild = await create({ parentId: notStarted });
      const done = await create({ parentId: parent });
      service.cancel(done);
      service.cancel(parent);
      expect(service.state(running)).toBe('Stopping');
      expect(run(running).context.signal.aborted).toBe(true);
      expect(service.get(notStarted)).toMatchObject({ state: 'Stopped', end: { by: 'parent' } });
      expect(service.state(grandchild)).toBe('Stopped');
      expect(service.get(done)?.end?.by).toBe('caller');
    });

    it('should refuse to remove a parent while a descendant runs, then remove the whole tree', async () => {
      const parent = await create();
      const child = await create({ parentId: parent });
      const grandchild = await create({ parentId: child, autoStart: true });
      service.cancel(parent); // cancels child; grandchild is Stopping
      run(grandchild); // still running
      const refused = service.tryRemove(parent);
      expect(refused).toMatchObject({ ok: false, code: 'INVALID_STATE' });
      expect(refused.ok || refused.message).toContain(grandchild);
      run(grandchild).cancelled();
      await flush();
      const removed: string[] = [];
      service.subscribe((e) => e.type === 'removed' && removed.push(e.taskId));
      expect(service.remove(parent)).toBe(true);
      expect(removed.sort()).toEqual([parent, child, grandchild].sort());
      expect(service.list().total).toBe(0);
    });

    it('should detach a removed child from its parent', async () => {
      const parent = await create();
      const child = await create({ parentId: parent });
      service.cancel(child);
      expect(service.remove(child)).toBe(true);
      expect(service.get(parent)?.childrenIds).toEqual([]);
    });
  });

  describe('retention', () => {
    it('should evict the oldest finished tasks past maxFinished', async () => {
      setup({ retention: { maxFinished: 2 } });
      const ids = [];
      for (let i = 0; i < 4; i++) {
        const id = await create();
        service.cancel(id);
        ids.push(id);
      }
      expect(service.list().tasks.map((t) => t.id)).toEqual(ids.slice(2));
    });

    it('should evict finished tasks older than maxAgeMs and keep unfinished ones', async () => {
      setup({ retention: { maxAgeMs: 60_000 } });
      const old = await create();
      service.cancel(old);
      clock.advance(30_000);
      const young = await create();
      service.cancel(young);
      const running = await create({ autoStart: true });
      clock.advance(30_000);
      expect(service.get(old)).toBeUndefined();
      expect(service.get(young)).toBeDefined();
      clock.advance(30_000);
      expect(service.get(young)).toBeUndefined();
      expect(service.state(running)).toBe('Running');
    });

    it('should not evict a finished child while its parent runs', async () => {
      setup({ retention: { maxFinished: 0 } });
      const parent = await create({ autoStart: true });
      const child = await create({ parentId: parent });
      service.cancel(child);
      expect(service.get(child)).toBeDefined();
      run(parent).complete();
      await flush();
      expect(service.list().total).toBe(0);
    });
  });

  describe('output', () => {
    it('should keep output per task with sequence numbers and stream names', async () => {
      const id = await taskIn('Running');
      run(id).output('hello');
      run(id).output('careful', 'warning');
      expect(service.output(id)).toEqual({
        records: [
          { stream: 'stdout', text: 'hello', time: 0, seq: 1 },
          { stream: 'warning', text: 'careful', time: 0, seq: 2 },
        ],
        dropped: 0,
        nextSeq: 3,
      });
      expect(service.output(id, { afterSeq: 1 })?.records.map((r) => r.text)).toEqual(['careful']);
    });

    it('should cap output per task, keep the newest and count what it dropped', async () => {
      setup({ output: { maxRecords: 3, maxRecordLength: 5 } });
      const id = await taskIn('Running');
      for (let i = 1; i <= 5; i++) run(id).output(`line${i}`);
      run(id).output('a very long line');
      const page = service.output(id)!;
      expect(page.records.map((r) => r.text)).toEqual(['line4', 'line5', 'a ver… [truncated]']);
      expect(page.dropped).toBe(3);
      expect(service.get(id)?.output).toEqual({ records: 3, dropped: 3 });
    });

    it('should refuse an output record with an unknown stream', async () => {
      const id = await taskIn('Running');
      run(id).context.output({ stream: 'bogus' as never, text: 'x', time: 0 });
      expect(service.output(id)?.records).toEqual([]);
    });
  });

  describe('list, names and results', () => {
    it('should list in creation order, filter by state and page', async () => {
      const a = await taskIn('NotStarted');
      const b = await taskIn('Stopped');
      const c = await taskIn('NotStarted');
      expect(service.list().tasks.map((t) => t.id)).toEqual([a, b, c]);
      expect(service.list({ state: 'NotStarted' })).toMatchObject({
        total: 2,
        tasks: [{ id: a }, { id: c }],
      });
      expect(service.list({ state: ['Stopped', 'Running'] }).tasks.map((t) => t.id)).toEqual([b]);
      expect(service.list({ offset: 1, limit: 1 })).toMatchObject({ total: 3, tasks: [{ id: b }] });
    });

    it('should set names and descriptions and refuse a blank name', async () => {
      const id = await create({ name: 'nightly', description: 'rebuild' });
      expect(service.get(id)).toMatchObject({ name: 'nightly', description: 'rebuild' });
      expect(service.setName(id, 'hourly')).toBe(true);
      expect(service.setDescription(id, '')).toBe(true);
      expect(service.get(id)).toMatchObject({ name: 'hourly', description: '' });
      expect(service.setName('nope', 'x')).toBe(false);
      expect(() => service.setName(id, '  ')).toThrow(TaskError);
    });

    it('should give a result only once finished', async () => {
      const id = await taskIn('Running');
      expect(service.result(id)).toBeUndefined();
      run(id).complete({ answer: 42 });
      await service.wait(id);
      expect(service.result(id)).toEqual({ answer: 42 });
      const failed = await taskIn('Failed');
      expect(service.result(failed)).toBeNull();
      expect(service.result('nope')).toBeUndefined();
    });
  });

  describe('wait', () => {
    it('should return the unfinished snapshot when the timeout passes first', async () => {
      const id = await taskIn('Running');
      const waiting = service.wait(id, { timeoutMs: 100 });
      clock.advance(100);
      expect((await waiting).state).toBe('Running');
    });

    it('should reject for an unknown id', async () => {
      await expect(service.wait('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
  });

  describe('events', () => {
    it('should tell subscribers about creation, states, progress, output and removal in order', async () => {
      const events: TaskServiceEvent[] = [];
      service.subscribe((e) => events.push(e));
      const id = await create({ autoStart: true });
      run(id).progress({ percentComplete: 50, statusMessage: 'half' });
      run(id).output('hi');
      run(id).complete('ok');
      await service.wait(id);
      service.remove(id);
      expect(events.map((e) => (e.type === 'state' ? `state:${e.to}` : e.type))).toEqual([
        'created',
        'state:Queued',
        'state:Running',
        'progress', // Running
        'progress',
        'output',
        'state:Completed',
        'removed',
      ]);
      const completed = events.find((e) => e.type === 'state' && e.to === 'Completed');
      expect(completed).toMatchObject({
        task: { state: 'Completed', result: 'ok', completedAt: clock.now() },
      });
    });

    it('should survive a throwing listener and report it', async () => {
      const internal: unknown[] = [];
      setup({ onInternalError: (e) => internal.push(e) });
      service.subscribe(() => {
        throw new Error('listener bug');
      });
      const id = await create({ autoStart: true });
      expect(service.state(id)).toBe('Running');
      expect(internal.length).toBeGreaterThan(0);
    });

    it('should stop telling an unsubscribed listener', async () => {
      const id = await create();
      let count = 0;
      const off = service.subscribe(() => count++, { taskId: id });
      service.start(id);
      off();
      run(id).complete();
      await flush();
      expect(count).toBe(3); // Queued, Running, progress
    });
  });

  describe('function tasks', () => {
    it('should run an in-process function with args, progress, output and a result', async () => {
      const real = createTaskService();
      const id = await real.create({
        args: { n: 3 },
        run: async ({ args, progress, output, taskId }) => {
          progress.statusMessage = 'adding';
          progress.percentComplete = 50;
          output(`task ${taskId}`);
          return (args.n as number) + 1;
        },
        autoStart: true,
      });
      const done = await real.wait(id);
      expect(done).toMatchObject({
        state: 'Completed',
        result: 4,
        language: 'function',
        progress: { percentComplete: 100 },
      });
      expect(real.output(id)?.records[0]).toMatchObject({ stream: 'stdout', text: `task ${id}` });
      await real.dispose();
    });

    it('should stop a function that honours its signal, and fail one that throws', async () => {
      const real = createTaskService();
      const cooperative = await real.create({
        autoStart: true,
        run: ({ signal }) =>
          new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
      });
      real.cancel(cooperative);
      expect((await real.wait(cooperative)).state).toBe('Stopped');
      const throwing = await real.create({
        autoStart: true,
        run: () => {
          throw new TypeError('bad input');
        },
      });
      expect(await real.wait(throwing)).toMatchObject({
        state: 'Failed',
        error: { message: 'bad input', type: 'TypeError' },
      });
      await real.dispose();
    });

    it('should report a blank status message to the function as an error', async () => {
      const real = createTaskService();
      const id = await real.create({
        autoStart: true,
        run: ({ progress }) => {
          progress.statusMessage = '';
        },
      });
      expect(await real.wait(id)).toMatchObject({
        state: 'Failed',
        error: { message: expect.stringMatching(/non-blank/) },
      });
      await real.dispose();
    });
  });

  describe('dispose', () => {
    it('should cancel everything, wait the grace period, force the rest and report them', async () => {
      const cooperative = await taskIn('Running');
      const stubborn = await taskIn('Running');
      const queued = await create({ autoStart: true });
      const notStarted = await create();
      const disposing = service.dispose();
      run(cooperative).cancelled();
      await flush();
      clock.advance(1000);
      const report = await disposing;
      expect(report.abandoned).toEqual([stubborn]);
      expect([...report.stopped].sort()).toEqual([cooperative, queued, notStarted].sort());
      expect(executor.runs.has(queued)).toBe(false);
      expect(executor.disposed).toBe(true);
      expect(service.get(stubborn)?.end).toMatchObject({ forced: true, by: 'dispose' });
      await expect(create()).rejects.toMatchObject({ code: 'DISPOSED' });
      expect(service.tryStart(notStarted)).toMatchObject({ ok: false, code: 'DISPOSED' });
    });
  });

  describe('health', () => {
    it('should report every executor with its queue', async () => {
      setup({}, 1);
      await create({ autoStart: true });
      await create({ autoStart: true });
      const health = await service.health();
      expect(health.manual).toEqual({ ok: true, queued: 1, running: 1, limit: 1 });
      expect(health.function).toMatchObject({ ok: true });
    });
  });
});
