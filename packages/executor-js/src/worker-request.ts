/**
 * Messages from the main thread to a worker. The task itself travels through piscina's own port
 * (`pool.run(request)`); cancellations go to every worker at once over a BroadcastChannel, because
 * the main thread does not know which worker piscina picked.
 */
import type { TaskArguments } from '@kr/core';
import type { ColumnShift } from './prepare-script.js';

/** Fixed for the life of a worker: piscina hands it over as `workerData`. */
export interface WorkerConfig {
  /** Name of the BroadcastChannel that carries {@link CancelMessage}s. */
  readonly channel: string;
  /** How long progress and output may wait in the worker before they are posted. */
  readonly flushIntervalMs: number;
  /** Most output records one task may have waiting in the worker; older ones are dropped and counted. */
  readonly maxBufferedOutput: number;
  /** Compiled scripts each worker keeps, by source. */
  readonly scriptCacheSize: number;
}

/** One run of one prepared script. */
export interface RunRequest {
  /** Unique per run in this executor; every message about the run carries it. */
  readonly token: number;
  readonly taskId: string;
  /** The prepared function expression (see `PreparedScript.source`); also the worker's cache key. */
  readonly source: string;
  readonly filename: string;
  readonly parameters: readonly string[];
  readonly args: TaskArguments;
  readonly wrapsLastExpression: boolean;
  readonly usesSignal: boolean;
  readonly usesConsole: boolean;
  readonly shift: ColumnShift | null;
}

/** Broadcast: the token of a run whose task was cancelled. Its script's `signal` aborts. */
export type CancelMessage = number;
