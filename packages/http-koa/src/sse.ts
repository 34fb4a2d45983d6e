import { isFinished } from '@kr/core';
import type { TaskService, TaskServiceEvent } from '@kr/core';
import type { Context } from 'koa';
import { toTaskJson } from './task-json.js';

export interface TaskEventStreamOptions {
  /** A comment line this often keeps proxies from closing an idle stream. Default 15 s. */
  keepAliveMs?: number;
  /** A client that falls this far behind is disconnected (it can resume). Default 1 MiB. */
  maxBufferedBytes?: number;
}

/**
 * Streams one task's events as Server-Sent Events.
 *
 * Every event's `id` is the sequence number of the last output record sent, so `Last-Event-ID`
 * says exactly which output a client already has. On (re)connect the client gets a `snapshot`
 * (state and progress are current values, so the latest is all it needs), then the output it
 * missed, then live `state`, `progress` and `output` events. When the task finishes (or is
 * removed) the stream ends with an `end` event; a client should close then rather than reconnect.
 */
export function streamTaskEvents(
  ctx: Context,
  service: TaskService,
  id: string,
  options: TaskEventStreamOptions = {},
): boolean {
  const task = service.get(id);
  if (!task) return false;
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  const maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
  const header =
    ctx.get('Last-Event-ID') || (typeof ctx.query.lastEventId === 'string' ? ctx.query.lastEventId : '');
  let lastSeq = /^\d+$/.test(header) ? Number(header) : 0;

  // Koa's body handling expects a body to end; an event stream writes to the response itself.
  ctx.respond = false;
  const stream = ctx.res;
  ctx.req.socket.setTimeout(0);
  ctx.req.socket.setNoDelay(true);
  stream.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });

  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    unsubscribe();
    clearInterval(keepAlive);
    stream.end();
  };
  const send = (event: string, data: unknown): void => {
    if (closed) return;
    stream.write(`id: ${lastSeq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    if (stream.writableLength > maxBufferedBytes) close(); // too slow: it can resume from its last id
  };
  const end = (reason: string): void => {
    send('end', { id: task.id, reason });
    close();
  };

  // Subscribing and replaying happen in one synchronous turn, so no event can fall in between.
  const unsubscribe = service.subscribe(
    (event: TaskServiceEvent) => {
      switch (event.type) {
        case 'output':
          if (event.record.seq <= lastSeq) return;
          lastSeq = event.record.seq;
          send('output', { ...event.record, time: new Date(event.record.time).toISOString() });
          return;
        case 'progress':
          send('progress', event.progress);
          return;
        case 'state':
          send('state', toTaskJson(event.task));
          if (isFinished(event.to)) end(event.to);
          return;
        case 'removed':
          end('removed');
          return;
        default:
          return;
      }
    },
    { taskId: task.id },
  );
  const keepAlive = setInterval(() => {
    if (!closed) stream.write(': keep-alive\n\n');
  }, keepAliveMs);
  keepAlive.unref();
  ctx.req.on('close', close);

  send('snapshot', toTaskJson(task));
  const backlog = service.output(task.id, { afterSeq: lastSeq });
  for (const record of backlog?.records ?? []) {
    lastSeq = record.seq;
    send('output', { ...record, time: new Date(record.time).toISOString() });
  }
  if (isFinished(task.state)) end(task.state);
  return true;
}
