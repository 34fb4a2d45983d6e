import type { OutputStream } from '@kr/core';
import { Console } from 'node:console';
import { Writable } from 'node:stream';

/** Receives one formatted console call. */
export type ConsoleSink = (stream: OutputStream, text: string) => void;

/** Which task stream each console method writes to. */
export const CONSOLE_STREAMS = {
  log: 'stdout',
  info: 'information',
  warn: 'warning',
  error: 'error',
  debug: 'debug',
  trace: 'debug',
  dir: 'stdout',
  dirxml: 'stdout',
  table: 'stdout',
  group: 'stdout',
  groupCollapsed: 'stdout',
  count: 'stdout',
  timeLog: 'stdout',
  timeEnd: 'stdout',
  assert: 'error',
} as const satisfies Record<string, OutputStream>;

type ConsoleMethod = keyof typeof CONSOLE_STREAMS;

// One pair of streams per worker: Node's Console formats (util.format, groups, tables, counters)
// and writes here synchronously, and the text is picked up right after the call returns.
let captured = '';
const capture = new Writable({
  decodeStrings: false,
  write(chunk: string | Buffer, _encoding, callback) {
    captured += String(chunk);
    callback();
  },
});

/**
 * Creates the `console` a script sees: each call becomes one output record on the stream its
 * method maps to ({@link CONSOLE_STREAMS}), without a trailing newline. Formatting, `group`
 * indentation, counters and timers are Node's own, scoped to this one task.
 *
 * @param sink - where each record goes
 */
export function createScriptConsole(sink: ConsoleSink): Console {
  // Created on the first call: most scripts never log, and a Console costs more than a task.
  let real: Console | undefined;
  const call = (method: ConsoleMethod | 'countReset' | 'groupEnd' | 'time', args: unknown[]): void => {
    real ??= new Console({ stdout: capture, stderr: capture, colorMode: false });
    captured = '';
    try {
      (real[method] as (...a: unknown[]) => void)(...args);
    } finally {
      const text = captured;
      captured = '';
      if (text !== '' && method in CONSOLE_STREAMS) {
        sink(CONSOLE_STREAMS[method as ConsoleMethod], text.endsWith('\n') ? text.slice(0, -1) : text);
      }
    }
  };
  const script = Object.create(null) as Record<string, (...args: unknown[]) => void>;
  for (const method of [...Object.keys(CONSOLE_STREAMS), 'countReset', 'groupEnd', 'time'] as const) {
    script[method] = (...args: unknown[]) => call(method as ConsoleMethod, args);
  }
  return script as unknown as Console;
}
