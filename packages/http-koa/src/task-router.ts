import { bodyParser } from '@koa/bodyparser';
import { Router } from '@koa/router';
import { TASK_STATES } from '@kr/core';
import type { CreateCodeTask, OperationResult, TaskService, TaskState } from '@kr/core';
import type { Context, Next } from 'koa';
import { HTTP_STATUS, HttpError, toErrorResponse } from './errors.js';
import { parseIntegerQuery, queryValue, sendJson } from './query.js';
import { streamTaskEvents } from './sse.js';
import type { TaskEventStreamOptions } from './sse.js';
import { toTaskJson } from './task-json.js';

export interface TaskRouterOptions {
  /** Path prefix. Default `/tasks`. */
  prefix?: string;
  /**
   * Lets clients create tasks from code they send (`POST /tasks`). This is remote code execution:
   * it is off unless you pass this, and `authorize` decides each request (return false for 403).
   */
  allowCreate?: {
    authorize: (ctx: Context, input: CreateCodeTask) => boolean | Promise<boolean>;
    maxBodyBytes?: number;
  };
  /** Largest `limit` on `GET /tasks`. Default 1000. */
  maxPageSize?: number;
  /** Server-Sent Events settings. */
  events?: TaskEventStreamOptions;
}

const STATES = new Set<string>(TASK_STATES);

/**
 * A REST API over any task service.
 *
 * @example
 * const app = new Koa();
 * const router = createTaskRouter(service);
 * app.use(router.routes()).use(router.allowedMethods());
 */
export function createTaskRouter(service: TaskService, options: TaskRouterOptions = {}): Router {
  const router = new Router({ prefix: options.prefix ?? '/tasks' });
  const maxPageSize = options.maxPageSize ?? 1000;

  router.use(async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (error) {
      const { status, body } = toErrorResponse(error);
      if (status >= 500) ctx.app.emit('error', error, ctx);
      sendJson(ctx, status, body);
    }
  });

  const fail = (ctx: Context, result: Exclude<OperationResult, { ok: true }>): void =>
    sendJson(ctx, HTTP_STATUS[result.code], { error: { code: result.code, message: result.message } });

  const integer = (ctx: Context, name: string, fallback: number, max: number): number => {
    const parsed = parseIntegerQuery(queryValue(ctx, name), name, { default: fallback, max });
    if (!parsed.ok) throw new HttpError('BAD_REQUEST', parsed.message);
    if (parsed.value < 0)
      throw new HttpError('BAD_REQUEST', `Query parameter '${name}' must not be negative.`);
    return parsed.value;
  };

  router.get('/', (ctx) => {
    const stateParam = queryValue(ctx, 'state');
    let state: TaskState[] | undefined;
    if (stateParam) {
      const names = stateParam.split(',').map((s) => s.trim());
      const bad = names.find((s) => !STATES.has(s));
      if (bad !== undefined)
        throw new HttpError('BAD_REQUEST', `Unknown state '${bad}'; use one of ${TASK_STATES.join(', ')}.`);
      state = names as TaskState[];
    }
    const offset = integer(ctx, 'offset', 0, Number.MAX_SAFE_INTEGER);
    const limit = integer(ctx, 'limit', 100, maxPageSize);
    const parentId = queryValue(ctx, 'parentId');
    const page = service.list({
      state,
      offset,
      limit,
      ...(parentId === undefined ? {} : { parentId: parentId === '' ? null : parentId }),
    });
    sendJson(ctx, 200, { tasks: page.tasks.map(toTaskJson), total: page.total, offset, limit });
  });

  if (options.allowCreate) {
    const { authorize, maxBodyBytes = 256 * 1024 } = options.allowCreate;
    router.post(
      '/',
      bodyParser({ enableTypes: ['json'], jsonLimit: maxBodyBytes, encoding: 'utf-8' }),
      async (ctx) => {
        const input = (ctx.request as { body?: unknown }).body;
        if (typeof input !== 'object' || input === null || Array.isArray(input)) {
          throw new HttpError('BAD_REQUEST', 'The request body must be a JSON object.');
        }
        if ('run' in input)
          throw new HttpError('BAD_REQUEST', "'run' is not accepted over HTTP; send language and code.");
        if (!(await authorize(ctx, input as CreateCodeTask))) {
          throw new HttpError('FORBIDDEN', 'Not allowed to create tasks.');
        }
        const id = await service.create(input as CreateCodeTask);
        const task = service.get(id);
        sendJson(ctx, 201, task ? toTaskJson(task) : { id });
      },
    );
  }

  const found = (ctx: Context, id: string) => {
    const task = service.get(id);
    if (!task) {
      sendJson(ctx, 404, { error: { code: 'NOT_FOUND', message: `Task '${id}' not found.` } });
      return undefined;
    }
    return task;
  };

  router.get('/:id', (ctx) => {
    const task = found(ctx, ctx.params.id!);
    if (task) sendJson(ctx, 200, toTaskJson(task));
  });

  router.get('/:id/result', (ctx) => {
    const task = found(ctx, ctx.params.id!);
    if (!task) return;
    if (task.state === 'Completed')
      return sendJson(ctx, 200, { state: task.state, result: task.result ?? null });
    if (task.state === 'Failed')
      return sendJson(ctx, 200, { state: task.state, result: null, error: toTaskJson(task).error });
    if (task.state === 'Stopped') return sendJson(ctx, 200, { state: task.state, result: null });
    sendJson(ctx, 409, {
      error: { code: 'INVALID_STATE', message: `Task '${task.id}' is ${task.state}; it has no result yet.` },
    });
  });

  router.get('/:id/output', (ctx) => {
    const afterSeq = integer(ctx, 'afterSeq', 0, Number.MAX_SAFE_INTEGER);
    const limit = integer(ctx, 'limit', 1000, 10_000);
    const page = service.output(ctx.params.id!, { afterSeq, limit });
    if (!page)
      return sendJson(ctx, 404, {
        error: { code: 'NOT_FOUND', message: `Task '${ctx.params.id}' not found.` },
      });
    sendJson(ctx, 200, {
      ...page,
      records: page.records.map((r) => ({ ...r, time: new Date(r.time).toISOString() })),
    });
  });

  router.post('/:id/start', (ctx) => {
    const result = service.tryStart(ctx.params.id!);
    if (!result.ok) return fail(ctx, result);
    sendJson(ctx, 202, {
      id: service.get(ctx.params.id!)?.id ?? ctx.params.id,
      state: service.state(ctx.params.id!),
    });
  });

  router.post('/:id/cancel', (ctx) => {
    const result = service.tryCancel(ctx.params.id!);
    if (!result.ok) return fail(ctx, result);
    sendJson(ctx, 202, {
      id: service.get(ctx.params.id!)?.id ?? ctx.params.id,
      state: service.state(ctx.params.id!),
    });
  });

  router.delete('/:id', (ctx) => {
    const result = service.tryRemove(ctx.params.id!);
    if (!result.ok) return fail(ctx, result);
    ctx.status = 204;
  });

  router.get('/:id/events', (ctx) => {
    if (!streamTaskEvents(ctx, service, ctx.params.id!, options.events)) {
      sendJson(ctx, 404, { error: { code: 'NOT_FOUND', message: `Task '${ctx.params.id}' not found.` } });
    }
  });

  return router;
}
