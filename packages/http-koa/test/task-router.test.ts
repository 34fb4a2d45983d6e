import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createTaskService } from '@kr/core';
import type { TaskService } from '@kr/core';
import { createManualExecutor } from '@kr/test-utils';
import Koa from 'koa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTaskRouter } from '../src/index.js';
import type { TaskRouterOptions } from '../src/index.js';

let service: TaskService;
let server: Server;
let base: string;

async function boot(options: TaskRouterOptions = {}): Promise<void> {
  const executor = createManualExecutor({ languages: ['manual'] });
  executor.failPrepare('bad', [{ id: 'X1', severity: 'error', message: 'nope', line: 2, column: 3 }]);
  service = createTaskService({ executors: [executor], gracePeriodMs: 200 });
  const app = new Koa();
  const router = createTaskRouter(service, options);
  app.use(router.routes()).use(router.allowedMethods());
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A function task that waits for `release()` and reports progress and output on the way. */
function gate() {
  let release!: (value: unknown) => void;
  const done = new Promise((resolve) => (release = resolve));
  return { done, release };
}

const json = async (path: string, init?: RequestInit) => {
  const res = await fetch(base + path, init);
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
};

beforeEach(() => boot());
afterEach(async () => {
  await service.dispose();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('createTaskRouter', () => {
  it('should list tasks with state filter and paging', async () => {
    const a = await service.create({ run: () => 1, name: 'a' });
    const b = await service.create({ run: () => 2, autoStart: true });
    await service.wait(b);
    expect((await json('/tasks')).body).toMatchObject({
      total: 2,
      offset: 0,
      limit: 100,
      tasks: [{ id: a }, { id: b }],
    });
    expect((await json('/tasks?state=Completed')).body).toMatchObject({
      total: 1,
      tasks: [{ id: b, state: 'Completed', stateText: 'Completed' }],
    });
    expect((await json('/tasks?offset=1&limit=1')).body).toMatchObject({ total: 2, tasks: [{ id: b }] });
    expect(await json('/tasks?state=Bogus')).toMatchObject({
      status: 400,
      body: { error: { code: 'BAD_REQUEST' } },
    });
    expect(await json('/tasks?limit=abc')).toMatchObject({
      status: 400,
      body: { error: { code: 'BAD_REQUEST' } },
    });
    expect(await json('/tasks?limit=100000')).toMatchObject({ status: 400 });
  });

  it('should return a task in the tutorial-compatible JSON shape, and 404 for an unknown id', async () => {
    const id = await service.create({ run: () => 1, autoStart: true });
    await service.wait(id);
    const { status, body } = await json(`/tasks/${id.toUpperCase()}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      id,
      name: `Task ${id}`,
      description: '',
      language: 'function',
      state: 'Completed',
      stateText: 'Completed',
      progress: { percentComplete: 100, statusMessage: 'Completed' },
      parentId: null,
      childrenId: [],
      end: { reason: 'completed', forced: false },
    });
    expect(body!.startedAt).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    expect(typeof body!.durationMs).toBe('number');
    expect(await json('/tasks/nope')).toEqual({
      status: 404,
      body: { error: { code: 'NOT_FOUND', message: "Task 'nope' not found." } },
    });
  });

  it('should start, cancel and remove with 202/409/404/204 as the state allows', async () => {
    const g = gate();
    const id = await service.create({
      run: ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('x')))),
    });
    expect(await json(`/tasks/${id}/start`, { method: 'POST' })).toMatchObject({
      status: 202,
      body: { id, state: 'Running' },
    });
    expect(await json(`/tasks/${id}/start`, { method: 'POST' })).toMatchObject({
      status: 409,
      body: { error: { code: 'INVALID_STATE' } },
    });
    expect(await json(`/tasks/nope/start`, { method: 'POST' })).toMatchObject({ status: 404 });
    expect(await json(`/tasks/${id}`, { method: 'DELETE' })).toMatchObject({
      status: 409,
      body: { error: { code: 'INVALID_STATE' } },
    });
    expect(await json(`/tasks/${id}/result`)).toMatchObject({ status: 409 });
    expect(await json(`/tasks/${id}/cancel`, { method: 'POST' })).toMatchObject({
      status: 202,
      body: { id },
    });
    await service.wait(id);
    expect(await json(`/tasks/${id}/cancel`, { method: 'POST' })).toMatchObject({ status: 409 });
    expect(await json(`/tasks/${id}/result`)).toEqual({
      status: 200,
      body: { state: 'Stopped', result: null },
    });
    expect((await fetch(`${base}/tasks/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await json(`/tasks/${id}`, { method: 'DELETE' })).toMatchObject({ status: 404 });
    g.release(null);
  });

  it('should return results and errors', async () => {
    const ok = await service.create({ run: () => ({ answer: 42 }), autoStart: true });
    const bad = await service.create({
      run: () => {
        throw new RangeError('too big');
      },
      autoStart: true,
    });
    await Promise.all([service.wait(ok), service.wait(bad)]);
    expect(await json(`/tasks/${ok}/result`)).toEqual({
      status: 200,
      body: { state: 'Completed', result: { answer: 42 } },
    });
    expect(await json(`/tasks/${bad}/result`)).toMatchObject({
      status: 200,
      body: { state: 'Failed', result: null, error: { message: 'too big', type: 'RangeError' } },
    });
    expect((await json(`/tasks/${bad}`)).body?.error).not.toHaveProperty('stack');
  });

  it('should page output', async () => {
    const id = await service.create({
      autoStart: true,
      run: ({ output }) => {
        for (let i = 1; i <= 3; i++) output(`line ${i}`);
      },
    });
    await service.wait(id);
    const { body } = await json(`/tasks/${id}/output?afterSeq=1&limit=1`);
    expect(body).toMatchObject({
      records: [{ seq: 2, stream: 'stdout', text: 'line 2' }],
      dropped: 0,
      nextSeq: 4,
    });
  });

  describe('creating tasks from client code', () => {
    const post = (body: unknown) =>
      json('/tasks', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    it('should not exist unless the application turns it on', async () => {
      const res = await fetch(`${base}/tasks`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(405);
    });

    it('should ask the authorisation hook and map errors to statuses', async () => {
      await service.dispose();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await boot({ allowCreate: { authorize: (ctx) => ctx.get('authorization') === 'Bearer let-me-in' } });
      expect(await post({ language: 'manual', code: 'x' })).toMatchObject({
        status: 403,
        body: { error: { code: 'FORBIDDEN' } },
      });
      const auth = (body: unknown) =>
        json('/tasks', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer let-me-in' },
          body: JSON.stringify(body),
        });
      expect(await auth({ language: 'manual', code: 'x', name: 'remote' })).toMatchObject({
        status: 201,
        body: { name: 'remote', state: 'NotStarted' },
      });
      expect(await auth({ language: 'cobol', code: 'x' })).toMatchObject({
        status: 400,
        body: { error: { code: 'UNKNOWN_LANGUAGE' } },
      });
      expect(await auth({ language: 'manual', code: 'bad' })).toMatchObject({
        status: 422,
        body: { error: { code: 'COMPILE_ERROR', diagnostics: [{ line: 2, column: 3, message: 'nope' }] } },
      });
      expect(await auth([1, 2])).toMatchObject({ status: 400 });
      const raw = await fetch(`${base}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer let-me-in' },
        body: '{oops',
      });
      expect(raw.status).toBe(400);
    });
  });

  describe('Server-Sent Events', () => {
    it('should stream a snapshot, progress, output and states, then end, and resume from Last-Event-ID', async () => {
      const g = gate();
      const id = await service.create({
        run: async ({ progress, output }) => {
          progress.update({ percentComplete: 50, statusMessage: 'half' });
          output('one');
          output('two');
          await g.done;
          output('three');
          return 'ok';
        },
      });
      const first = await openEvents(`/tasks/${id}/events`);
      service.start(id);
      await first.until((e) => e.event === 'output' && e.data.text === 'two');
      first.close();
      const second = await openEvents(`/tasks/${id}/events`, { 'Last-Event-ID': '1' });
      g.release(null);
      const events = await second.until((e) => e.event === 'end');
      expect(first.events.map((e) => e.event)).toEqual([
        'snapshot',
        'state',
        'state',
        'progress',
        'progress',
        'output',
        'output',
      ]);
      expect(first.events[0]!.data).toMatchObject({ id, state: 'NotStarted' });
      expect(first.events.at(-1)!.id).toBe('2');
      const names = events.map((e) => `${e.event}${e.event === 'output' ? `:${String(e.data.text)}` : ''}`);
      expect(names[0]).toBe('snapshot');
      expect(names).toContain('output:two');
      expect(names).toContain('output:three');
      expect(names).not.toContain('output:one'); // already seen before the reconnect
      expect(events.find((e) => e.event === 'state')?.data).toMatchObject({ state: 'Completed' });
      expect(events.at(-1)).toMatchObject({ event: 'end', id: '3', data: { reason: 'Completed' } });
    });

    it('should end at once for a finished task and 404 for an unknown one', async () => {
      const id = await service.create({ run: () => 1, autoStart: true });
      await service.wait(id);
      const stream = await openEvents(`/tasks/${id}/events`);
      const events = await stream.until((e) => e.event === 'end');
      expect(events.map((e) => e.event)).toEqual(['snapshot', 'end']);
      expect((await fetch(`${base}/tasks/nope/events`)).status).toBe(404);
    });
  });
});

interface SseEvent {
  id?: string;
  event: string;
  data: Record<string, unknown>;
}

/** A minimal SSE reader over fetch, enough to test the wire format. */
async function openEvents(path: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const res = await fetch(base + path, { headers, signal: controller.signal });
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: SseEvent[] = [];
  let buffer = '';
  const readMore = async (): Promise<boolean> => {
    const { value, done } = await reader.read();
    if (done) return false;
    buffer += value;
    let at: number;
    while ((at = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      if (block.startsWith(':')) continue;
      const event: SseEvent = { event: 'message', data: {} };
      for (const line of block.split('\n')) {
        const [field, ...rest] = line.split(': ');
        const value = rest.join(': ');
        if (field === 'id') event.id = value;
        if (field === 'event') event.event = value;
        if (field === 'data') event.data = JSON.parse(value) as Record<string, unknown>;
      }
      events.push(event);
    }
    return true;
  };
  return {
    events,
    async until(predicate: (e: SseEvent) => boolean): Promise<SseEvent[]> {
      while (!events.some(predicate)) if (!(await readMore())) break;
      return events;
    },
    close: () => controller.abort(),
  };
}
