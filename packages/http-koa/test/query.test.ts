import { describe, expect, it } from 'vitest';
import { parseIntegerQuery } from '../src/index.js';

const rule = { default: 2, zeroMeansDefault: true, max: 3600 };

describe('parseIntegerQuery', () => {
  it.each([
    [undefined, 2],
    ['', 2],
    ['  ', 2],
    ['0', 2],
    ['7', 7],
    [' 7 ', 7],
    ['+7', 7],
    ['3600', 3600],
  ])('should read %j as %i', (input, expected) => {
    expect(parseIntegerQuery(input, 'seconds', rule)).toEqual({ ok: true, value: expected });
  });

  it.each(['abc', '1.5', '1e400', '1e3', '-1', '3601', '99999999999999999999', '0x10', 'NaN', 'Infinity'])(
    'should refuse %j with a clear message',
    (input) => {
      const result = parseIntegerQuery(input, 'seconds', rule);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.message).toMatch(/^Query parameter 'seconds' must be an integer/);
    },
  );
});
