import { describe, expect, it } from 'vitest';
import { toArgumentKind, toArgumentSignature } from '../src/index.js';

describe('toArgumentKind', () => {
  it('should type each JSON kind as the host declares it', () => {
    expect(toArgumentKind(42)).toBe('Int');
    expect(toArgumentKind(-(2 ** 31))).toBe('Int');
    expect(toArgumentKind(2 ** 31)).toBe('Long');
    expect(toArgumentKind(2 ** 60)).toBe('Long');
    expect(toArgumentKind(1e19)).toBe('Double'); // beyond long
    expect(toArgumentKind(1e21)).toBe('Double'); // JSON writes 1e+21
    expect(toArgumentKind(1.5)).toBe('Double');
    expect(toArgumentKind('x')).toBe('String');
    expect(toArgumentKind(true)).toBe('Bool');
    expect(toArgumentKind(null)).toBe('Null');
    expect(toArgumentKind(Number.NaN)).toBe('Null'); // JSON writes null
    expect(toArgumentKind([1])).toBe('Json');
    expect(toArgumentKind({ a: 1 })).toBe('Json');
    expect(toArgumentKind(new Date(0))).toBe('String'); // toJSON
  });
});

describe('toArgumentSignature', () => {
  it('should list names in ordinal order and leave out what JSON drops', () => {
    expect(toArgumentSignature({ b: 1, a: 'x', B: true, u: undefined, f: () => 1 })).toBe(
      'B:Bool;a:String;b:Int;',
    );
    expect(toArgumentSignature({})).toBe('');
  });
});
