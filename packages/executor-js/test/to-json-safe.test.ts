import { describe, expect, it } from 'vitest';
import { isJsExecutorError } from '../src/errors.js';
import { MAX_RESULT_DEPTH, toJsonSafe } from '../src/to-json-safe.js';

class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}
  get length(): number {
    return Math.hypot(this.x, this.y);
  }
}

describe('toJsonSafe', () => {
  const cases: [string, unknown, unknown][] = [
    ['a string', 'a', 'a'],
    ['a finite number', 1.5, 1.5],
    ['a boolean', true, true],
    ['null', null, null],
    ['undefined at the top level', undefined, null],
    ['NaN', Number.NaN, null],
    ['Infinity', Number.POSITIVE_INFINITY, null],
    ['-0', -0, 0],
    ['a bigint', 12345678901234567890n, '12345678901234567890'],
    ['a Date', new Date(Date.UTC(2026, 0, 2, 3, 4, 5)), '2026-01-02T03:04:05.000Z'],
    ['an invalid Date', new Date(Number.NaN), null],
    [
      'a Map',
      new Map<unknown, unknown>([
        ['a', 1],
        [2, 'b'],
      ]),
      { a: 1, '2': 'b' },
    ],
    ['a Set', new Set([1, 'x']), [1, 'x']],
    ['undefined in an array', [1, undefined], [1, null]],
    ['undefined in an object', { a: undefined }, { a: null }],
    ['a function in an array', [() => 1], [null]],
    ['a function in an object', { f: () => 1, a: 1 }, { a: 1 }],
    ['a function at the top level', () => 1, null],
    ['a symbol value and a symbol key', { s: Symbol('s'), [Symbol('k')]: 1, a: 1 }, { a: 1 }],
    ['a RegExp', /a+/g, '/a+/g'],
    ['a typed array', new Uint8Array([1, 2]), [1, 2]],
    ['a BigInt64Array', new BigInt64Array([3n]), ['3']],
    ['an ArrayBuffer', new Uint8Array([7, 8]).buffer, [7, 8]],
    ['a boxed string', new String('s'), 's'],
    ['a Buffer (a Uint8Array)', Buffer.from('hi'), [104, 105]],
    ['a URL (via toJSON)', new URL('https://example.test/a'), 'https://example.test/a'],
    ['a class instance (own enumerable fields only)', new Point(3, 4), { x: 3, y: 4 }],
    [
      'nested collections',
      { m: new Map([['s', new Set([new Date(0)])]]) },
      { m: { s: ['1970-01-01T00:00:00.000Z'] } },
    ],
    [
      'a shared (not cyclic) reference',
      (() => {
        const o = { a: 1 };
        return [o, o];
      })(),
      [{ a: 1 }, { a: 1 }],
    ],
  ];

  it.each(cases)('should convert %s', (_name, input, expected) => {
    expect(toJsonSafe(input)).toStrictEqual(expected);
  });

  it('should convert an Error to its name, message and own fields', () => {
    const error = Object.assign(new TypeError('bad'), { code: 'E_BAD' });
    expect(toJsonSafe(error)).toStrictEqual({ name: 'TypeError', message: 'bad', code: 'E_BAD' });
  });

  it('should keep a __proto__ key as data', () => {
    const input = JSON.parse('{"__proto__": {"polluted": true}}') as unknown;
    const out = toJsonSafe(input) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__']);
  });

  it('should produce only values that survive JSON unchanged', () => {
    const out = toJsonSafe({ d: new Date(0), n: 1n, m: new Map([[1, new Set([undefined])]]) });
    expect(JSON.parse(JSON.stringify(out))).toStrictEqual(out);
  });

  const cycles: [string, () => unknown, string][] = [
    [
      'an object that contains itself',
      () => {
        const a: Record<string, unknown> = {};
        a.self = a;
        return a;
      },
      '$.self refers back to $',
    ],
    [
      'an array inside an object',
      () => {
        const a: Record<string, unknown> = { list: [] };
        (a.list as unknown[]).push(a);
        return a;
      },
      '$.list[0] refers back to $',
    ],
    [
      'a Map value',
      () => {
        const m = new Map<string, unknown>();
        m.set('me', { m });
        return { m };
      },
      '$.m.me.m refers back to $.m',
    ],
  ];

  it.each(cycles)('should refuse a cycle through %s, naming the path', (_name, make, path) => {
    let error: unknown;
    try {
      toJsonSafe(make());
    } catch (e) {
      error = e;
    }
    expect(isJsExecutorError(error, 'RESULT_CYCLE')).toBe(true);
    expect((error as Error).message).toContain('The result has a cycle');
    expect((error as Error).message).toContain(path);
  });

  it('should refuse nesting deeper than MAX_RESULT_DEPTH', () => {
    let deep: unknown = 1;
    for (let i = 0; i <= MAX_RESULT_DEPTH; i++) deep = [deep];
    expect(() => toJsonSafe(deep)).toThrow(/deeper than/);
  });
});
