import type { TaskArguments } from '@kr/core';

/** The CLR type the host declares a JSON argument with (Kr.Roslyn `ArgKind`). */
export type ArgumentKind = 'Int' | 'Long' | 'Double' | 'String' | 'Bool' | 'Null' | 'Json';

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

/**
 * The type the host gives an argument, computed from the value as it will look after JSON
 * serialisation: an integer -> `Int` (`Long` when out of range), another number -> `Double`, string,
 * boolean, null (and NaN/Infinity, which JSON writes as null) -> `Null`, arrays/objects -> `Json`.
 */
export function toArgumentKind(value: unknown): ArgumentKind {
  const json =
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
      ? (value as { toJSON: () => unknown }).toJSON()
      : value;
  switch (typeof json) {
    case 'string':
      return 'String';
    case 'boolean':
      return 'Bool';
    case 'number': {
      if (!Number.isFinite(json)) return 'Null';
      if (!Number.isInteger(json)) return 'Double';
      if (json >= INT_MIN && json <= INT_MAX) return 'Int';
      // JSON.stringify writes 1e21 and above in exponent form, which the host reads as a double.
      const text = JSON.stringify(json);
      if (!/^-?\d+$/.test(text)) return 'Double';
      const big = BigInt(text);
      return big >= LONG_MIN && big <= LONG_MAX ? 'Long' : 'Double';
    }
    case 'object':
      return json === null ? 'Null' : 'Json';
    default:
      return 'Null';
  }
}

/**
 * The argument signature a compiled C#/VB script depends on: names in ordinal order with their kinds,
 * e.g. `count:Int;name:String;`. Same text as the host's `ArgSignature.Text`. Keys JSON drops
 * (`undefined`, functions, symbols) are left out, as the host never sees them.
 */
export function toArgumentSignature(args: TaskArguments | undefined): string {
  if (!args) return '';
  const names = Object.keys(args)
    .filter((name) => {
      const t = typeof args[name];
      return t !== 'undefined' && t !== 'function' && t !== 'symbol';
    })
    .sort();
  let text = '';
  for (const name of names) text += `${name}:${toArgumentKind(args[name])};`;
  return text;
}
