import { OUTPUT_STREAMS } from '@kr/core';
import type { Diagnostic, OutputRecord, OutputStream, RunOutcome, TaskFailure } from '@kr/core';

/** Messages a .NET script host sends to Node. Untrusted: everything goes through {@link parseFromHost}. */
export type FromHostMessage =
  /** Warm and able to run tasks. */
  | {
      readonly t: 'ready';
      readonly pid: number;
      readonly languages: readonly string[];
      readonly warmupMs: number;
      readonly runtime: string;
    }
  /** The host cannot start (warm-up failed); it exits after this. */
  | { readonly t: 'fatal'; readonly message: string }
  /** The answer to a request. */
  | { readonly t: 'response'; readonly id: number; readonly ok: true; readonly body: unknown }
  | {
      readonly t: 'response';
      readonly id: number;
      readonly ok: false;
      readonly error: { readonly message: string; readonly type: string };
    }
  /** Coalesced events of one running task: the latest progress and a batch of output. */
  | {
      readonly t: 'event';
      readonly taskId: string;
      readonly progress?: { readonly percent: number; readonly message: string };
      readonly output?: readonly OutputRecord[];
      /** Records the host dropped for this task so far (per-task and pending caps). */
      readonly dropped?: number;
    };

/** What a prepare request answers. */
export interface PrepareBody {
  readonly ok: boolean;
  readonly handle: string | null;
  readonly diagnostics: readonly Diagnostic[];
}

export type ParseResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: readonly string[] };

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const STREAMS: ReadonlySet<string> = new Set(OUTPUT_STREAMS);

/** Validates one message from the host. Pure. */
export function parseFromHost(input: unknown): ParseResult<FromHostMessage> {
  if (!isObject(input)) return fail('message is not an object');
  switch (input.t) {
    case 'ready': {
      const errors: string[] = [];
      if (!isInt(input.pid)) errors.push('ready.pid must be an integer');
      if (!Array.isArray(input.languages) || !input.languages.every((l) => typeof l === 'string'))
        errors.push('ready.languages must be strings');
      if (errors.length > 0) return { ok: false, errors };
      return ok({
        t: 'ready',
        pid: input.pid as number,
        languages: input.languages as string[],
        warmupMs: typeof input.warmupMs === 'number' ? input.warmupMs : 0,
        runtime: typeof input.runtime === 'string' ? input.runtime : '',
      });
    }
    case 'fatal':
      return ok({
        t: 'fatal',
        message: typeof input.message === 'string' ? input.message : 'unknown failure',
      });
    case 'response': {
      if (!isInt(input.id)) return fail('response.id must be an integer');
      if (input.ok === true) return ok({ t: 'response', id: input.id, ok: true, body: input.body });
      const error = isObject(input.error) ? input.error : {};
      return ok({
        t: 'response',
        id: input.id,
        ok: false,
        error: {
          message:
            typeof error.message === 'string'
              ? error.message
              : 'The host reported an error without a message.',
          type: typeof error.type === 'string' ? error.type : 'HostError',
        },
      });
    }
    case 'event': {
      if (typeof input.taskId !== 'string') return fail('event.taskId must be a string');
      const errors: string[] = [];
      let progress: { percent: number; message: string } | undefined;
      if (input.progress !== undefined) {
        const p = input.progress;
        if (isObject(p) && typeof p.percent === 'number' && typeof p.message === 'string')
          progress = { percent: p.percent, message: p.message };
        else errors.push('event.progress must be {percent:number, message:string}');
      }
      let output: OutputRecord[] | undefined;
      if (input.output !== undefined) {
        if (!Array.isArray(input.output)) errors.push('event.output must be an array');
        else {
          output = [];
          for (const r of input.output) {
            if (
              isObject(r) &&
              typeof r.stream === 'string' &&
              STREAMS.has(r.stream) &&
              typeof r.text === 'string' &&
              typeof r.time === 'number'
            ) {
              output.push({ stream: r.stream as OutputStream, text: r.text, time: r.time });
            } else errors.push('event.output has an invalid record');
          }
        }
      }
      if (errors.length > 0) return { ok: false, errors };
      return ok({
        t: 'event',
        taskId: input.taskId,
        ...(progress ? { progress } : {}),
        ...(output ? { output } : {}),
        ...(typeof input.dropped === 'number' ? { dropped: input.dropped } : {}),
      });
    }
    default:
      return fail(`unknown message type ${JSON.stringify(input.t)}`);
  }
}

/** Validates the body of a `prepare` response. Pure. */
export function parsePrepareBody(body: unknown): ParseResult<PrepareBody> {
  if (!isObject(body) || typeof body.ok !== 'boolean') return fail('prepare body must be {ok:boolean, …}');
  const diagnostics: Diagnostic[] = [];
  for (const d of Array.isArray(body.diagnostics) ? body.diagnostics : []) {
    if (!isObject(d) || typeof d.message !== 'string') return fail('prepare body has an invalid diagnostic');
    diagnostics.push({
      ...(typeof d.id === 'string' ? { id: d.id } : {}),
      severity: d.severity === 'warning' ? 'warning' : 'error',
      message: d.message,
      line: isInt(d.line) ? d.line : 1,
      column: isInt(d.column) ? d.column : 1,
      ...(isInt(d.endLine) ? { endLine: d.endLine } : {}),
      ...(isInt(d.endColumn) ? { endColumn: d.endColumn } : {}),
    });
  }
  if (body.ok && typeof body.handle !== 'string') return fail('a successful prepare must return a handle');
  return ok({ ok: body.ok, handle: typeof body.handle === 'string' ? body.handle : null, diagnostics });
}

/** Validates the body of a `run` response and maps it onto core's {@link RunOutcome}. Pure. */
export function parseRunBody(body: unknown): ParseResult<RunOutcome> {
  if (!isObject(body)) return fail('run body must be an object');
  switch (body.status) {
    case 'completed':
      return ok({ status: 'completed', result: body.result ?? null });
    case 'cancelled':
      return ok({ status: 'cancelled' });
    case 'failed': {
      const e = isObject(body.error) ? body.error : {};
      const error: TaskFailure = {
        message: typeof e.message === 'string' ? e.message : 'The script failed.',
        type: typeof e.type === 'string' ? e.type : 'Error',
      };
      if (isInt(e.line))
        error.location = isInt(e.column) ? { line: e.line, column: e.column } : { line: e.line };
      if (typeof e.code === 'string') error.code = e.code;
      if (typeof e.category === 'string') error.category = e.category;
      if (typeof e.stack === 'string' && e.stack !== '') error.stack = e.stack;
      return ok({ status: 'failed', error });
    }
    default:
      return fail(`unknown run status ${JSON.stringify(body.status)}`);
  }
}

function ok<T>(value: T): ParseResult<T> {
  return { ok: true, value };
}

function fail<T>(error: string): ParseResult<T> {
  return { ok: false, errors: [error] };
}
