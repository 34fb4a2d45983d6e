/**
 * Messages from a worker to the main thread. Progress and output are posted on the worker's
 * `parentPort` in batches while the script runs; the final {@link RunResponse} returns through
 * piscina's task port. The two ports are not ordered relative to each other, so the response
 * says how many batches came before it and the main thread waits for them. A worker that was
 * given a run of a script it does not know asks for the script on `parentPort` too
 * ({@link ScriptRequest}).
 */
import type { OutputRecord, OutputStream, ProgressSnapshot, RunOutcome } from '@kr/core';
import { OUTPUT_STREAMS } from '@kr/core';

/** What a worker has gathered for a run since its last post. */
export interface OutputBatch {
  /** Records in the order the script wrote them. */
  readonly output?: readonly OutputRecord[];
  /** The latest progress; earlier readings in the same batch were superseded. */
  readonly progress?: ProgressSnapshot;
  /** Records the worker dropped because the script wrote faster than they could be posted. */
  readonly dropped?: number;
}

/** Posted on `parentPort` while a run is going. */
export interface WorkerBatch extends OutputBatch {
  readonly kind: 'kr-batch';
  readonly token: number;
}

/** Posted on `parentPort`: the worker needs the definition of the script of run `token`. */
export interface ScriptRequest {
  readonly kind: 'kr-script';
  readonly token: number;
}

/** What the worker's task handler returns: the outcome and the last batch. */
export interface RunResponse extends OutputBatch {
  readonly outcome: RunOutcome;
  /** How many {@link WorkerBatch}es were posted for this run before the response. */
  readonly batches: number;
}

const STREAMS: ReadonlySet<string> = new Set<OutputStream>(OUTPUT_STREAMS);

/**
 * Reads a `parentPort` message. Script code can post there too, so anything that is not a
 * well-formed batch or script request is ignored (null).
 */
export function parseWorkerMessage(input: unknown): WorkerBatch | ScriptRequest | null {
  if (typeof input !== 'object' || input === null) return null;
  const m = input as Partial<Record<keyof WorkerBatch, unknown>>;
  if (typeof m.token !== 'number') return null;
  if (m.kind === 'kr-script') return m as ScriptRequest;
  if (m.kind !== 'kr-batch') return null;
  if (m.output !== undefined && !(Array.isArray(m.output) && m.output.every(isOutputRecord))) return null;
  if (m.progress !== undefined && !isProgress(m.progress)) return null;
  if (m.dropped !== undefined && typeof m.dropped !== 'number') return null;
  return m as WorkerBatch;
}

function isOutputRecord(value: unknown): value is OutputRecord {
  const r = value as Partial<Record<keyof OutputRecord, unknown>> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.stream === 'string' &&
    STREAMS.has(r.stream) &&
    typeof r.text === 'string' &&
    typeof r.time === 'number'
  );
}

function isProgress(value: unknown): value is ProgressSnapshot {
  const p = value as Partial<Record<keyof ProgressSnapshot, unknown>> | null;
  return (
    typeof p === 'object' &&
    p !== null &&
    typeof p.percentComplete === 'number' &&
    typeof p.statusMessage === 'string'
  );
}
