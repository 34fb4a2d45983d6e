import { describe, expect, it } from 'vitest';
import { TASK_EVENTS, TASK_STATES, TASK_TRANSITIONS, isFinished, transition } from '../src/index.js';
import type { TaskEvent, TaskState } from '../src/index.js';

/**
 * The expected lifecycle, written out independently of the implementation's table: every legal
 * (state, event) -> next state. Every pair not listed must be refused.
 */
const LEGAL: Record<TaskState, Partial<Record<TaskEvent, TaskState>>> = {
  NotStarted: { start: 'Queued', cancel: 'Stopped' },
  Queued: { run: 'Running', cancel: 'Stopping' },
  Running: {
    cancel: 'Stopping',
    timeout: 'Stopping',
    complete: 'Completed',
    fail: 'Failed',
    stopped: 'Stopped',
  },
  Stopping: {
    cancel: 'Stopping',
    timeout: 'Stopping',
    complete: 'Completed',
    fail: 'Stopped',
    stopped: 'Stopped',
    force: 'Stopped',
  },
  Completed: { remove: 'Completed' },
  Failed: { remove: 'Failed' },
  Stopped: { remove: 'Stopped' },
};

const pairs = TASK_STATES.flatMap((state) => TASK_EVENTS.map((event) => [state, event] as const));

describe('transition', () => {
  it.each(pairs)('should handle %s x %s as the lifecycle says', (state, event) => {
    const expected = LEGAL[state][event];
    const step = transition(state, event);
    if (expected === undefined) {
      expect(step.ok).toBe(false);
    } else {
      expect(step).toMatchObject({ ok: true, from: state, to: expected });
    }
  });

  it('should cover exactly the states and events of the table', () => {
    expect(Object.keys(TASK_TRANSITIONS).sort()).toEqual([...TASK_STATES].sort());
    for (const rules of Object.values(TASK_TRANSITIONS)) {
      for (const event of Object.keys(rules)) expect(TASK_EVENTS).toContain(event);
    }
  });

  it('should never leave a finished state except by removal', () => {
    for (const state of TASK_STATES.filter(isFinished)) {
      for (const event of TASK_EVENTS) {
        const step = transition(state, event);
        if (step.ok) {
          expect(event).toBe('remove');
          expect(step.effects).toEqual(['delete']);
        }
      }
    }
  });

  it('should finish a task on every move into a finished state', () => {
    for (const [state, event] of pairs) {
      const step = transition(state, event);
      if (step.ok && isFinished(step.to) && event !== 'remove') expect(step.effects).toContain('finish');
    }
  });

  it('should cascade cancellation to children on cancel and timeout', () => {
    for (const state of ['NotStarted', 'Queued', 'Running'] as const) {
      const step = transition(state, 'cancel');
      expect(step.ok && step.effects).toContain('cancelChildren');
    }
  });
});
