import { createTaskService, isTaskError } from '@kr/core';
import type { Executor, TaskService, TaskServiceEvent } from '@kr/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Small scripts in the executor's language, each doing one thing the contract checks. */
export interface ContractScripts {
  /** Produces the number 42 as its result. */
  answer: string;
  /** Produces `Hello, <name>!` from the argument `name`. */
  greet: string;
  /** Writes `hello` to standard output (console.log / Console.WriteLine / [Console]::WriteLine). */
  printsHello: string;
  /** Throws an error whose message contains `kaboom`, from line 2 of the script. */
  throwsOnLine2: string;
  /** Has a syntax error on line 2. */
  syntaxErrorOnLine2: string;
  /** Sets progress to 50% / `half way`, then waits (cooperatively: honouring cancellation) for about 60 s. */
  progressThenWait: string;
  /** Ignores cancellation: blocks for about 60 s without looking at its signal / token. */
  ignoresCancel: string;
  /** Sets a blank status message (which must fail the script with a clear error). */
  blankStatus: string;
}

export interface ExecutorContractOptions {
  /** Shown in the suite name. */
  name: string;
  /** The language the scripts are in. */
  language: string;
  createExecutor: () => Executor | Promise<Executor>;
  scripts: ContractScripts;
  /** Grace period before force-stop. Default 500 ms. */
  gracePeriodMs?: number;
  /** Upper bound for waits, generous for slow CI machines. Default 30 s. */
  waitMs?: number;
}

/**
 * The executor conformance suite: every executor package runs it against its real runtime, so
 * all languages behave the same through the task service.
 */
export function describeExecutorContract(options: ExecutorContractOptions): void {
  const waitMs = options.waitMs ?? 30_000;
  const { scripts, language } = options;

  describe(`Executor contract: ${options.name}`, () => {
    let executor: Executor;
    let service: TaskService;

    beforeAll(async () => {
      executor = await options.createExecutor();
      service = createTaskService({ executors: [executor], gracePeriodMs: options.gracePeriodMs ?? 500 });
    }, 120_000);

    afterAll(async () => {
      await service?.dispose();
    }, 60_000);

    const runToEnd = async (code: string, args: Record<string, unknown> = {}) => {
      const id = await service.create({ language, code, args, autoStart: true });
      return service.wait(id, { timeoutMs: waitMs });
    };

    it('should report itself healthy', async () => {
      expect((await executor.health()).ok).toBe(true);
    });

    it(
      'should run a script and return its result',
      async () => {
        expect(await runToEnd(scripts.answer)).toMatchObject({
          state: 'Completed',
          result: 42,
          end: { reason: 'completed' },
        });
      },
      waitMs,
    );

    it(
      'should give the arguments to the script as variables',
      async () => {
        expect(await runToEnd(scripts.greet, { name: 'World' })).toMatchObject({
          state: 'Completed',
          result: 'Hello, World!',
        });
      },
      waitMs,
    );

    it(
      "should capture what the script prints into the task's output",
      async () => {
        const done = await runToEnd(scripts.printsHello);
        expect(done.state).toBe('Completed');
        const texts = service.output(done.id)!.records.map((r) => r.text.trimEnd());
        expect(texts).toContain('hello');
      },
      waitMs,
    );

    it(
      'should fail a throwing script with its message and the line in the user code',
      async () => {
        const done = await runToEnd(scripts.throwsOnLine2);
        expect(done.state).toBe('Failed');
        if (done.state !== 'Failed') return;
        expect(done.error.message).toContain('kaboom');
        expect(done.error.location?.line).toBe(2);
      },
      waitMs,
    );

    it(
      'should return syntax errors from create as positioned diagnostics and register nothing',
      async () => {
        const before = service.list().total;
        const error = await service
          .create({ language, code: scripts.syntaxErrorOnLine2 })
          .catch((e: unknown) => e);
        expect(isTaskError(error, 'COMPILE_ERROR')).toBe(true);
        if (!isTaskError(error)) return;
        expect(error.diagnostics.length).toBeGreaterThan(0);
        expect(error.diagnostics[0]!.line).toBe(2);
        expect(error.diagnostics[0]!.column).toBeGreaterThan(0);
        expect(service.list().total).toBe(before);
      },
      waitMs,
    );

    it(
      'should fail a script that sets a blank status message, with a clear error',
      async () => {
        const done = await runToEnd(scripts.blankStatus);
        expect(done.state).toBe('Failed');
        if (done.state === 'Failed') expect(done.error.message).toMatch(/blank|empty|null/i);
      },
      waitMs,
    );

    it(
      'should report progress while running and stop cooperatively when cancelled',
      async () => {
        const id = await service.create({ language, code: scripts.progressThenWait });
        const sawHalf = new Promise<void>((resolve) => {
          const off = service.subscribe(
            (e: TaskServiceEvent) => {
              if (e.type === 'progress' && e.progress.percentComplete === 50) {
                off();
                resolve();
              }
            },
            { taskId: id },
          );
        });
        service.start(id);
        await sawHalf;
        expect(service.get(id)).toMatchObject({
          state: 'Running',
          progress: { percentComplete: 50, statusMessage: 'half way' },
        });
        expect(service.cancel(id)).toBe(true);
        const done = await service.wait(id, { timeoutMs: waitMs });
        expect(done).toMatchObject({ state: 'Stopped', end: { reason: 'cancelled', forced: false } });
        expect(done.progress.percentComplete).toBe(50);
      },
      waitMs,
    );

    it(
      'should stop a script that ignores cancellation by force after the grace period, and keep working',
      async () => {
        const id = await service.create({ language, code: scripts.ignoresCancel, autoStart: true });
        await new Promise((resolve) => setTimeout(resolve, 300)); // let it get into its blocking call
        expect(service.cancel(id)).toBe(true);
        const done = await service.wait(id, { timeoutMs: waitMs });
        expect(done).toMatchObject({ state: 'Stopped', end: { reason: 'cancelled', forced: true } });
        expect(await runToEnd(scripts.answer)).toMatchObject({ state: 'Completed', result: 42 });
      },
      waitMs * 2,
    );
  });
}
