import type { Clock } from './clock.js';
import { toTaskFailure } from './errors.js';
import { isRunCancelled } from './executor.js';
import type { Executor, OutputStream, RunOutcome } from './executor.js';
import type { TaskFunction } from './task.js';
import { TaskProgress } from './task-progress.js';

/** The language name of in-process function tasks. */
export const FUNCTION_LANGUAGE = 'function';

/**
 * Runs `create({ run: async (ctx) => ... })` tasks in the calling process. Built into every task
 * service, so `@kr/core` alone is useful. An in-process function cannot be killed: after the grace
 * period its task is marked Stopped (forced) and its late result is ignored, but the function keeps
 * running until it returns. Use a code task (worker thread or host process) for work that must be
 * stoppable by force.
 */
export function createFunctionExecutor(clock: Clock): Executor<TaskFunction> {
  return {
    name: FUNCTION_LANGUAGE,
    languages: [FUNCTION_LANGUAGE],
    maxConcurrency: Number.POSITIVE_INFINITY,
    prepare: () => Promise.reject(new Error('Function tasks are created with { run }, not with code.')),
    async run(context): Promise<RunOutcome> {
      const progress = new TaskProgress(context.progress);
      const output = (text: string, stream: OutputStream = 'stdout'): void =>
        context.output({ stream, text: String(text), time: clock.now() });
      try {
        const result = await context.prepared({
          taskId: context.taskId,
          args: context.args,
          progress,
          // Read only if the function takes it, so tasks that never look cost no AbortSignal.
          get signal() {
            return context.signal;
          },
          output,
        });
        return { status: 'completed', result };
      } catch (error) {
        if (isRunCancelled(context)) return { status: 'cancelled' };
        return { status: 'failed', error: toTaskFailure(error) };
      }
    },
    forceStop: () => Promise.resolve(),
    health: () => Promise.resolve({ ok: true, detail: 'in-process' }),
    dispose: () => Promise.resolve(),
  };
}
