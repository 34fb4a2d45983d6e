/**
 * Time comes into the core through this interface, never from `Date.now()` or `setTimeout`
 * directly, so tests drive it with a fake clock and the core stays free of I/O.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
}

/** Produces task ids. */
export interface IdGenerator {
  next(): string;
}

/**
 * The real clock. This file and `system-ids.ts` are the only places in `@kr/core` that touch the
 * global timer and time APIs; a test enforces it.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const handle = setTimeout(fn, ms);
    // A pending timeout or retention sweep must not keep a process alive on its own.
    (handle as { unref?: () => void }).unref?.();
    return () => clearTimeout(handle);
  },
};
