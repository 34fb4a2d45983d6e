/**
 * Messages from the main thread to a worker. The task itself travels through piscina's own port
 * (`pool.run(request)`); cancellations and script definitions go to every worker at once over a
 * BroadcastChannel, because the main thread does not know which worker piscina picked.
 *
 * A run request is kept small on purpose: with a trivial script the cost of cloning the request
 * is a visible share of a task's round trip. The static part of a script (its source and what
 * prepare found out about it) travels as one JSON string, and only until the workers are likely
 * to have it; a worker that does not know a script asks for it (see `ScriptRequest`).
 */
import type { TaskArguments } from '@kr/core';
import type { PreparedScript } from './prepare-script.js';

/** Fixed for the life of a worker: piscina hands it over as `workerData`. */
export interface WorkerConfig {
  /** Name of the BroadcastChannel that carries {@link ChannelMessage}s. */
  readonly channel: string;
  /** How long progress and output may wait in the worker before they are posted. */
  readonly flushIntervalMs: number;
  /** Most output records one task may have waiting in the worker; older ones are dropped and counted. */
  readonly maxBufferedOutput: number;
  /** Compiled scripts each worker keeps, by script id. */
  readonly scriptCacheSize: number;
}

/**
 * One run of one prepared script, as a tuple (cheaper to clone than an object with names):
 * the run's token (unique per run in this executor; every message about the run carries it), the
 * task id, the script id, the arguments (`0` when there are none) and the script's
 * {@link ScriptPayload} as JSON (`0` when the main thread expects the worker to have it already).
 */
export type RunRequest = readonly [
  token: number,
  taskId: string,
  scriptId: number,
  args: TaskArguments | 0,
  payload: string | 0,
];

/** What a worker needs to compile and call a script: the prepared script minus its language. */
export type ScriptPayload = Omit<PreparedScript, 'language'>;

/** Broadcast: a script's definition, sent when a worker asked for it: `[scriptId, payload JSON]`. */
export type ScriptDefinition = readonly [scriptId: number, payload: string];

/**
 * Broadcast on the executor's channel: a number is the token of a run whose task was cancelled
 * (its script's `signal` aborts); a pair is a {@link ScriptDefinition}.
 */
export type ChannelMessage = number | ScriptDefinition;

/** Turns a prepared script into the JSON a worker compiles it from. */
export function toScriptPayload(script: PreparedScript): string {
  const payload: ScriptPayload = {
    filename: script.filename,
    source: script.source,
    parameters: script.parameters,
    wrapsLastExpression: script.wrapsLastExpression,
    usesSignal: script.usesSignal,
    usesConsole: script.usesConsole,
    usesProgress: script.usesProgress,
    shift: script.shift,
  };
  return JSON.stringify(payload);
}
