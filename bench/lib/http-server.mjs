// A server for the http suite, in its own process so autocannon (in the parent) does not share its
// event loop. Usage: node http-server.mjs <bare|demo|sse> [executor]. Prints one JSON line when
// listening: { url, id?, ids? }. Plain HTTP on 127.0.0.1, a free port.
import { createServer } from 'node:http';
import { Router } from '@koa/router';
import { createTaskService } from '@kr/core';
import { createDemoApp } from '@kr/demo';
import { createTaskRouter, toTaskJson } from '@kr/http-koa';
import Koa from 'koa';
import { pino } from 'pino';

const [mode = 'bare', engine = 'function'] = process.argv.slice(2);
process.on('SIGTERM', () => process.exit(0)); // exit hooks (and --cpu-prof) run
// The parent asks for this process's CPU time around each load round (IPC, so no extra route).
process.on('message', () => process.send?.(process.cpuUsage()));
const TASKS = Number(process.env.BENCH_TASKS ?? 10_000);

/** 10,000 finished function tasks, as the issue asks ("with 10,000 tasks registered"). */
async function fillService(service) {
  const ids = [];
  for (let i = 0; i < TASKS; i++) {
    const id = await service.create({ name: `bench ${i}`, run: () => ({ n: i }), autoStart: true });
    ids.push(id);
  }
  await Promise.all(ids.map((id) => service.wait(id)));
  return ids;
}

const unlimited = { maxFinished: Number.POSITIVE_INFINITY, maxAgeMs: Number.POSITIVE_INFINITY };
// Request logs are at debug level in the demo; the bench runs it at info, as a production server would.
const logger = pino({ level: 'info' });

async function listen(app) {
  const server = createServer(app.callback());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${server.address().port}`;
}

async function executorsFor(name) {
  if (name === 'pwsh') {
    const { createPwshExecutor } = await import('@kr/executor-pwsh');
    const executor = createPwshExecutor({ poolSize: 2 });
    await executor.ready();
    return [executor];
  }
  if (name === 'csharp') {
    const { createCSharpExecutor } = await import('@kr/executor-csharp');
    const executor = createCSharpExecutor();
    await executor.ready();
    return [executor];
  }
  if (name === 'js') {
    const { createJsExecutor } = await import('@kr/executor-js');
    return [createJsExecutor({ poolSize: 1 })];
  }
  return [];
}

if (mode === 'bare') {
  // The same bytes as /tasks/state answers, as a constant: the difference is the engine's share.
  const sample = createTaskService();
  const id = await sample.create({ name: 'bench 0', run: () => ({ n: 0 }), autoStart: true });
  const body = toTaskJson(await sample.wait(id));
  const app = new Koa();
  const router = new Router();
  router.get('/tasks/state', (ctx) => {
    ctx.body = body;
  });
  app.use(router.routes()).use(router.allowedMethods());
  console.log(JSON.stringify({ url: await listen(app) }));
} else if (mode === 'demo') {
  const service = createTaskService({ retention: unlimited });
  const ids = await fillService(service);
  const app = createDemoApp({ service, logger });
  console.log(JSON.stringify({ url: await listen(app), id: ids[Math.floor(TASKS / 2)] }));
} else if (mode === 'sse') {
  const service = createTaskService({ retention: unlimited, executors: await executorsFor(engine) });
  const app = new Koa();
  const router = createTaskRouter(service);
  app.use(router.routes()).use(router.allowedMethods());
  // Tasks are created by the parent through this tiny route, so it can subscribe before they start.
  const control = new Router();
  control.get('/bench/create', async (ctx) => {
    const code = String(ctx.query.code ?? '');
    const language = String(ctx.query.language ?? '');
    const id =
      engine === 'function'
        ? await service.create({
            run: async ({ progress }) => {
              for (let i = 0; i < 200; i++) {
                await new Promise((resolve) => setTimeout(resolve, 20));
                progress.statusMessage = String(performance.timeOrigin + performance.now());
              }
            },
          })
        : await service.create({ language, code });
    ctx.body = { id };
  });
  control.get('/bench/start', (ctx) => {
    ctx.body = { started: service.start(String(ctx.query.id)) };
  });
  app.use(control.routes());
  console.log(JSON.stringify({ url: await listen(app) }));
}
