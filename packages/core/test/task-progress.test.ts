import { describe, expect, it } from 'vitest';
import { TaskError, TaskProgress, applyProgress, INITIAL_PROGRESS } from '../src/index.js';

describe('TaskProgress', () => {
  it('should start at 0% "Not started"', () => {
    const p = new TaskProgress();
    expect(p.toJSON()).toEqual({ percentComplete: 0, statusMessage: 'Not started' });
    expect(p.toString()).toBe('0% - Not started');
  });

  it.each([
    [-5, 0],
    [0, 0],
    [42, 42],
    [42.4, 42],
    [42.6, 43],
    [100, 100],
    [250, 100],
    ['55', 55],
  ])('should turn percentComplete %j into the integer %i', (input, expected) => {
    const p = new TaskProgress();
    p.percentComplete = input as number;
    expect(p.percentComplete).toBe(expected);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, 'abc', null, undefined, {}])(
    'should reject percentComplete %j with a clear error',
    (input) => {
      const p = new TaskProgress();
      expect(() => (p.percentComplete = input as number)).toThrow(/PercentComplete must be a finite number/);
    },
  );

  it.each(['', '   ', '\n\t', null, 42])(
    'should reject the blank or non-string status message %j',
    (input) => {
      const p = new TaskProgress();
      const attempt = (): void => {
        p.statusMessage = input as string;
      };
      expect(attempt).toThrow(TaskError);
      expect(attempt).toThrow(/StatusMessage must be a non-blank string/);
      expect(p.statusMessage).toBe('Not started');
    },
  );

  it('should set 100% on complete, keep the percentage on fail and cancel, and go to 0% on reset', () => {
    const p = new TaskProgress();
    p.percentComplete = 40;
    p.complete();
    expect(p.toJSON()).toEqual({ percentComplete: 100, statusMessage: 'Completed' });
    p.percentComplete = 30;
    p.fail('Disk full');
    expect(p.toJSON()).toEqual({ percentComplete: 30, statusMessage: 'Disk full' });
    p.cancel();
    expect(p.toJSON()).toEqual({ percentComplete: 30, statusMessage: 'Cancelled' });
    p.reset();
    expect(p.toJSON()).toEqual({ percentComplete: 0, statusMessage: 'Not started' });
    expect(() => p.complete(' ')).toThrow(/non-blank/);
  });

  it('should report each change once, and nothing when nothing changed', () => {
    const seen: string[] = [];
    const p = new TaskProgress((s) => seen.push(`${s.percentComplete}:${s.statusMessage}`));
    p.percentComplete = 10;
    p.percentComplete = 10;
    p.statusMessage = 'Working';
    p.update({ percentComplete: 20, statusMessage: 'More' });
    expect(seen).toEqual(['10:Not started', '10:Working', '20:More']);
  });

  it('should validate untrusted updates with applyProgress', () => {
    expect(applyProgress(INITIAL_PROGRESS, { percentComplete: 500 })).toEqual({
      percentComplete: 100,
      statusMessage: 'Not started',
    });
    expect(() => applyProgress(INITIAL_PROGRESS, { statusMessage: '' })).toThrow(TaskError);
  });
});
