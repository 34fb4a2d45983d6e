import { Router } from '@koa/router';
import type { TaskService } from '@kr/core';
import { queryId, queryInteger, sendJson, sendText, toErrorResponse, toTaskJson } from '@kr/http-koa';
import type { IntegerRule } from '@kr/http-koa';
import Koa from 'koa';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import { CS_WORK_SCRIPT, PS_ONE_SHOT_SCRIPT, PS_SLEEP_SCRIPT } from './scripts.js';

/**
 * Query limits. Missing or 0 takes the tutorial's default. The tutorial crashes (500) on `abc` or
 * `1e400`; we answer 400 for those, for negative numbers and past the cap of one hour.
 */
export const LIMITS = {
  createSeconds: { default: 2, zeroMeansDefault: true, max: 3600 },
  runSeconds: { default: 1, zeroMeansDefault: true, max: 3600 },
  ms: { default: 1500, zeroMeansDefault: true, max: 3_600_000 },
} as const satisfies Record<string, IntegerRule>;

const MISSING_ID = { error: "Missing 'id' query parameter" };

/**
 * The Kestrun "Tasks" tutorial (20.1-Task.ps1) as a Koa app: the same GET routes, query
 * parameters, defaults, scripts, status codes and bodies.
 */
export function createDemoApp({ service, logger }: { service: TaskService; logger: Logger }): Koa {
  const app = new Koa();
  const router = new Router();

  // One outer middleware logs every request at debug level and turns errors into the tutorial's
  // `{ error }` shape (a script that does not compile, a host that is down), with the status from the
  // adapter's one table. One layer, not two: each async layer costs every request.
  app.use(async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } catch (error) {
      const { status, body } = toErrorResponse(error);
      if (status >= 500) ctx.app.emit('error', error, ctx);
      sendJson(ctx, status, {
        error: body.error.message,
        code: body.error.code,
        ...(body.error.diagnostics ? { diagnostics: body.error.diagnostics } : {}),
      });
    } finally {
      if (logger.isLevelEnabled('debug')) {
        logger.debug(
          {
            method: ctx.method,
            url: ctx.url,
            status: ctx.status,
            ms: +(performance.now() - started).toFixed(1),
          },
          'request',
        );
      }
    }
  });
  app.on('error', (error: unknown) => logger.error({ err: error }, 'request failed'));

  /** Reads a bounded integer; answers 400 itself and returns undefined when it is bad. */
  const integer = (ctx: Context, name: string, rule: IntegerRule): number | undefined => {
    const parsed = queryInteger(ctx, name, rule);
    if (parsed.ok) return parsed.value;
    sendJson(ctx, 400, { error: parsed.message });
    return undefined;
  };
  /** Reads `id`; answers the tutorial's 400 itself and returns undefined when it is missing. */
  const id = (ctx: Context): string | undefined => {
    const value = queryId(ctx);
    if (value === undefined) sendJson(ctx, 400, MISSING_ID);
    return value;
  };
  const canonical = (value: string): string => service.get(value)?.id ?? value;

  // 1) Create a PowerShell task (does NOT start it). /tasks/create/ps?seconds=2
  router.get('/tasks/create/ps', async (ctx) => {
    const seconds = integer(ctx, 'seconds', LIMITS.createSeconds);
    if (seconds === undefined) return;
    logger.debug({ seconds }, `Creating PS task that sleeps for ${seconds} seconds`);
    const taskId = await service.create({
      language: 'powershell',
      code: PS_SLEEP_SCRIPT,
      args: { sec: seconds },
    });
    sendJson(ctx, 200, { id: taskId, language: 'PowerShell' });
  });

  // 2) Create a C# task (does NOT start it). /tasks/create/cs?ms=1500
  router.get('/tasks/create/cs', async (ctx) => {
    const ms = integer(ctx, 'ms', LIMITS.ms);
    if (ms === undefined) return;
    const taskId = await service.create({ language: 'csharp', code: CS_WORK_SCRIPT, args: { total: ms } });
    sendJson(ctx, 200, { id: taskId, language: 'CSharp' });
  });

  // 3) Start a previously created task. /tasks/start?id=<taskId>
  router.get('/tasks/start', (ctx) => {
    const taskId = id(ctx);
    if (taskId === undefined) return;
    const started = service.start(taskId);
    sendJson(ctx, started ? 202 : 409, { started, id: canonical(taskId) });
  });

  // 4) Get task state. /tasks/state?id=<taskId>
  router.get('/tasks/state', (ctx) => {
    const taskId = id(ctx);
    if (taskId === undefined) return;
    const task = service.get(taskId);
    if (!task) return sendJson(ctx, 404, { error: 'Task not found' });
    sendJson(ctx, 200, toTaskJson(task));
  });

  // 5) Get the result only (no envelope). /tasks/result?id=<taskId>
  router.get('/tasks/result', (ctx) => {
    const taskId = id(ctx);
    if (taskId === undefined) return;
    const state = service.state(taskId);
    if (state === undefined) return sendJson(ctx, 404, { error: 'Task not found' });
    if (state !== 'Completed' && state !== 'Stopped' && state !== 'Failed') {
      return sendJson(ctx, 409, { error: 'Task is not in a completed state' });
    }
    sendJson(ctx, 200, service.result(taskId) ?? null);
  });

  // 6) Cancel a task. /tasks/cancel?id=<taskId>
  router.get('/tasks/cancel', (ctx) => {
    const taskId = id(ctx);
    if (taskId === undefined) return;
    const cancelled = service.cancel(taskId);
    sendJson(ctx, cancelled ? 202 : 409, { cancelled, id: canonical(taskId) });
  });

  // 7) Remove a finished task. /tasks/remove?id=<taskId>
  router.get('/tasks/remove', (ctx) => {
    const taskId = id(ctx);
    if (taskId === undefined) return;
    const known = canonical(taskId);
    const removed = service.remove(taskId);
    sendJson(ctx, removed ? 200 : 404, { removed, id: known });
  });

  // 8) List all tasks: always an array, also for zero or one task.
  router.get('/tasks/list', (ctx) => {
    sendJson(ctx, 200, service.list().tasks.map(toTaskJson));
  });

  // 9) One-shot create + start of a PowerShell task. /tasks/run/ps?seconds=1
  router.get('/tasks/run/ps', async (ctx) => {
    const seconds = integer(ctx, 'seconds', LIMITS.runSeconds);
    if (seconds === undefined) return;
    const taskId = await service.create({
      language: 'powershell',
      code: PS_ONE_SHOT_SCRIPT,
      args: { seconds },
      autoStart: true,
    });
    sendJson(ctx, 202, { id: taskId, started: true });
  });

  router.get('/hello', (ctx) => sendText(ctx, 200, 'Hello, Tasks World!'));

  app.use(router.routes()).use(router.allowedMethods());
  app.use((ctx) => {
    if (ctx.status === 404 && ctx.body === undefined) sendJson(ctx, 404, { error: 'Not found' });
  });
  return app;
}
