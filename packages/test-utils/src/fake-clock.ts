import type { Clock } from '@kr/core';

export interface FakeClock extends Clock {
  /** Moves time forward, firing due timers in order (timers they arm fire too, if due). */
  advance(ms: number): void;
  /** Timers not yet fired or cancelled. */
  pending(): number;
}

/** A clock that only moves when the test says so. */
export function createFakeClock(start = Date.UTC(2026, 0, 1)): FakeClock {
  let now = start;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimer(fn, ms) {
      const id = ++seq;
      timers.set(id, { at: now + Math.max(0, ms), fn });
      return () => void timers.delete(id);
    },
    advance(ms) {
      const target = now + ms;
      for (;;) {
        let nextId: number | undefined;
        let next: { at: number; fn: () => void } | undefined;
        for (const [id, timer] of timers) {
          if (timer.at <= target && (!next || timer.at < next.at)) {
            next = timer;
            nextId = id;
          }
        }
        if (!next || nextId === undefined) break;
        timers.delete(nextId);
        now = next.at;
        next.fn();
      }
      now = target;
    },
    pending: () => timers.size,
  };
}
