import { TaskError } from './errors.js';

/** A progress reading: what `TaskProgress` holds and what executors report. */
export interface ProgressSnapshot {
  /** Integer, 0..100. */
  readonly percentComplete: number;
  /** Never blank. */
  readonly statusMessage: string;
}

/** A partial update as sent by an executor; missing fields keep their value. */
export interface ProgressUpdate {
  percentComplete?: number;
  statusMessage?: string;
}

export const INITIAL_PROGRESS: ProgressSnapshot = Object.freeze({
  percentComplete: 0,
  statusMessage: 'Not started',
});

/**
 * Validates a percentage: a finite number, rounded to an integer and clamped to 0..100.
 * Throws a {@link TaskError} with code `INVALID_ARGUMENT` for anything else.
 */
export function toPercent(value: unknown): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) {
    throw new TaskError(
      'INVALID_ARGUMENT',
      `PercentComplete must be a finite number, got ${describe(value)}.`,
    );
  }
  return Math.min(100, Math.max(0, Math.round(n)));
}

/** Validates a status message: a string that is not blank. */
export function toStatusMessage(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TaskError(
      'INVALID_ARGUMENT',
      `StatusMessage must be a non-blank string, got ${describe(value)}.`,
    );
  }
  return value;
}

/** Applies an untrusted update (for example from a child process) to a snapshot. */
export function applyProgress(current: ProgressSnapshot, update: ProgressUpdate): ProgressSnapshot {
  return {
    percentComplete:
      update.percentComplete === undefined ? current.percentComplete : toPercent(update.percentComplete),
    statusMessage:
      update.statusMessage === undefined ? current.statusMessage : toStatusMessage(update.statusMessage),
  };
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return String(value);
  return typeof value === 'number' ? String(value) : typeof value;
}

/**
 * The progress object a script sees (as `TaskProgress` / `$TaskProgress` / `ctx.progress`).
 *
 * - `percentComplete` is an integer clamped to 0..100; a non-number is an error.
 * - `statusMessage` must not be blank; a blank one is an error thrown to the script.
 * - `complete()` sets 100. `fail()` and `cancel()` keep the last percentage (Kestrun forces 100,
 *   which reports a half-done task as fully done); `reset()` goes back to 0.
 *
 * @example
 * const p = new TaskProgress((s) => console.log(`${s.percentComplete}% ${s.statusMessage}`));
 * p.statusMessage = 'Downloading';
 * p.percentComplete = 40;
 * p.complete();
 */
export class TaskProgress implements ProgressSnapshot {
  #percent: number;
  #message: string;
  readonly #onChange: ((snapshot: ProgressSnapshot) => void) | undefined;

  constructor(onChange?: (snapshot: ProgressSnapshot) => void, initial: ProgressSnapshot = INITIAL_PROGRESS) {
    this.#percent = initial.percentComplete;
    this.#message = initial.statusMessage;
    this.#onChange = onChange;
  }

  get percentComplete(): number {
    return this.#percent;
  }

  set percentComplete(value: number) {
    this.#set(toPercent(value), this.#message);
  }

  get statusMessage(): string {
    return this.#message;
  }

  set statusMessage(value: string) {
    this.#set(this.#percent, toStatusMessage(value));
  }

  /** Sets both at once, reporting one change. */
  update(update: ProgressUpdate): void {
    const next = applyProgress(this, update);
    this.#set(next.percentComplete, next.statusMessage);
  }

  /** Marks the work done: 100%. */
  complete(message = 'Completed'): void {
    this.#set(100, toStatusMessage(message));
  }

  /** Reports a failure; the percentage stays where the work stopped. */
  fail(message = 'Failed'): void {
    this.#set(this.#percent, toStatusMessage(message));
  }

  /** Reports a cancellation; the percentage stays where the work stopped. */
  cancel(message = 'Cancelled'): void {
    this.#set(this.#percent, toStatusMessage(message));
  }

  /** Back to 0%. */
  reset(message = 'Not started'): void {
    this.#set(0, toStatusMessage(message));
  }

  toJSON(): ProgressSnapshot {
    return { percentComplete: this.#percent, statusMessage: this.#message };
  }

  toString(): string {
    return `${this.#percent}% - ${this.#message}`;
  }

  #set(percent: number, message: string): void {
    if (percent === this.#percent && message === this.#message) return;
    this.#percent = percent;
    this.#message = message;
    this.#onChange?.({ percentComplete: percent, statusMessage: message });
  }
}
