import { describe, expect, it } from 'vitest';
import {
  createFrameDecoder,
  parseFromHost,
  parsePrepareBody,
  parseRunBody,
  toFrame,
  toHostFailureMessage,
  toExitFailure,
} from '../src/index.js';

describe('frame codec', () => {
  it('should decode frames split across and merged within chunks', () => {
    const seen: unknown[] = [];
    const decoder = createFrameDecoder(
      (v) => seen.push(v),
      (e) => {
        throw e;
      },
    );
    const bytes = Buffer.concat([toFrame({ a: 1 }), toFrame({ b: 'ü'.repeat(1000) }), toFrame([1, 2])]);
    for (let i = 0; i < bytes.length; i += 7) decoder.push(bytes.subarray(i, i + 7));
    expect(seen).toEqual([{ a: 1 }, { b: 'ü'.repeat(1000) }, [1, 2]]);
  });

  it('should refuse an oversized frame instead of buffering it', () => {
    const errors: Error[] = [];
    const decoder = createFrameDecoder(
      () => undefined,
      (e) => errors.push(e),
    );
    const header = Buffer.alloc(4);
    header.writeUInt32LE(0xffffffff, 0);
    decoder.push(header);
    expect(errors[0]?.message).toMatch(/exceeds/);
  });
});

describe('parseFromHost', () => {
  it('should accept each message kind', () => {
    expect(parseFromHost({ t: 'ready', pid: 1, languages: ['x'], warmupMs: 2, runtime: 'r' }).ok).toBe(true);
    expect(parseFromHost({ t: 'response', id: 3, ok: true, body: null }).ok).toBe(true);
    expect(
      parseFromHost({
        t: 'event',
        taskId: 'a',
        progress: { percent: 5, message: 'm' },
        output: [{ stream: 'stdout', text: 'x', time: 1 }],
      }),
    ).toEqual({
      ok: true,
      value: {
        t: 'event',
        taskId: 'a',
        progress: { percent: 5, message: 'm' },
        output: [{ stream: 'stdout', text: 'x', time: 1 }],
      },
    });
  });

  it('should reject malformed messages with reasons', () => {
    expect(parseFromHost('{"t":"ready"}').ok).toBe(false);
    expect(parseFromHost({ t: 'nope' })).toEqual({ ok: false, errors: ['unknown message type "nope"'] });
    expect(
      parseFromHost({ t: 'event', taskId: 'a', output: [{ stream: 'bogus', text: 'x', time: 1 }] }).ok,
    ).toBe(false);
    expect(parseFromHost({ t: 'response', id: 'x', ok: true }).ok).toBe(false);
  });

  it('should map run and prepare bodies onto core types', () => {
    expect(
      parseRunBody({
        status: 'failed',
        error: { message: 'boom', type: 'T', line: 3, column: 1, code: 'E', category: 'C' },
      }),
    ).toEqual({
      ok: true,
      value: {
        status: 'failed',
        error: { message: 'boom', type: 'T', location: { line: 3, column: 1 }, code: 'E', category: 'C' },
      },
    });
    expect(parseRunBody({ status: 'completed' })).toEqual({
      ok: true,
      value: { status: 'completed', result: null },
    });
    expect(parseRunBody({ status: 'weird' }).ok).toBe(false);
    expect(parsePrepareBody({ ok: true }).ok).toBe(false);
  });
});

describe('host failure messages', () => {
  it('should name the signal or the exit code', () => {
    expect(toHostFailureMessage(toExitFailure('PowerShell host', null, 'SIGKILL'))).toBe(
      'PowerShell host exited with signal SIGKILL',
    );
    expect(toHostFailureMessage(toExitFailure('PowerShell host', 3, null))).toBe(
      'PowerShell host exited with code 3',
    );
  });
});
