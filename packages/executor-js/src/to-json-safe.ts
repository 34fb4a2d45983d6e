import { JsExecutorError } from './errors.js';

/** How deep {@link toJsonSafe} follows nested objects before it gives up. */
export const MAX_RESULT_DEPTH = 256;

/**
 * Turns a script's result into plain JSON data (what `JSON.parse(JSON.stringify(x))` would give,
 * minus its surprises), so every task result survives the wire, a database and a browser alike.
 *
 * The rule:
 * - `undefined` becomes `null` everywhere (top level, arrays and object properties), so a property
 *   the script set is never silently lost.
 * - Functions and symbols: dropped from objects and Maps, `null` in arrays and at the top level
 *   (as `JSON.stringify` does). Symbol keys are ignored.
 * - `NaN`, `Infinity` and `-Infinity` become `null`; `-0` becomes `0`.
 * - `bigint` becomes its decimal string (`10n` -> `"10"`).
 * - `Date` becomes its ISO string (an invalid date becomes `null`).
 * - `Map` becomes an object whose keys are `String(key)`; `Set` becomes an array.
 * - Typed arrays (Buffer included) and `DataView`/`ArrayBuffer` become arrays of numbers (bytes for
 * the latter two).
 * - `RegExp` becomes its source string (`"/a+/g"`).
 * - `Error` becomes `{ name, message }` plus its own enumerable properties (`code`, …).
 * - Boxed primitives (`new String('a')`) become the primitive.
 * - Anything else with a `toJSON()` method (URL, Temporal values, …) is replaced by what it returns.
 * - Other objects (class instances included) keep their own enumerable string-keyed properties.
 * - Shared references are copied; a cycle throws a {@link JsExecutorError} `RESULT_CYCLE` naming the
 *   path, and nesting deeper than {@link MAX_RESULT_DEPTH} throws `RESULT_TOO_DEEP`.
 *
 * @param value - anything a script produced
 * @returns a value made only of `null`, booleans, finite numbers, strings, arrays and plain objects
 * @example
 * toJsonSafe({ at: new Date(0), n: 10n, tags: new Set(['a']) });
 * // { at: '1970-01-01T00:00:00.000Z', n: '10', tags: ['a'] }
 */
export function toJsonSafe(value: unknown): unknown {
  return convert(value, [], [], 0);
}

const OMIT = Symbol('omit');

function convert(value: unknown, ancestors: object[], path: (string | number)[], depth: number): unknown {
  const result = convertOrOmit(value, ancestors, path, depth);
  return result === OMIT ? null : result;
}

/** Returns {@link OMIT} for values an object property should leave out (functions, symbols). */
function convertOrOmit(
  value: unknown,
  ancestors: object[],
  path: (string | number)[],
  depth: number,
): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      // `Object.is(value, -0)` is rare enough that `value === 0` covers it cheaply: both give 0.
      return Number.isFinite(value) ? (value === 0 ? 0 : value) : null;
    case 'bigint':
      return value.toString();
    case 'undefined':
      return null;
    case 'function':
    case 'symbol':
      return OMIT;
    default:
      break;
  }
  if (value === null) return null;
  const object = value as object;

  if (ancestors.includes(object)) {
    const at = ancestors.indexOf(object);
    throw new JsExecutorError(
      'RESULT_CYCLE',
      `The result has a cycle: ${toPath(path)} refers back to ${toPath(path.slice(0, at))}, so it cannot be turned into JSON.`,
    );
  }
  if (depth >= MAX_RESULT_DEPTH) {
    throw new JsExecutorError(
      'RESULT_TOO_DEEP',
      `The result nests deeper than ${MAX_RESULT_DEPTH} levels (at ${toPath(path)}), so it was not turned into JSON.`,
    );
  }

  if (object instanceof Date) return Number.isNaN(object.getTime()) ? null : object.toISOString();
  if (object instanceof RegExp) return String(object);
  if (object instanceof String || object instanceof Number || object instanceof Boolean) {
    return convert(object.valueOf(), ancestors, path, depth);
  }
  if (object instanceof BigInt || object instanceof Symbol)
    return convertOrOmit(object.valueOf(), ancestors, path, depth);
  if (ArrayBuffer.isView(object)) {
    return object instanceof DataView || !('length' in object)
      ? Array.from(new Uint8Array(object.buffer, object.byteOffset, object.byteLength))
      : Array.from(object as unknown as ArrayLike<number | bigint>, (n) =>
          convert(n, ancestors, path, depth),
        );
  }
  if (object instanceof ArrayBuffer) return Array.from(new Uint8Array(object));

  ancestors.push(object);
  try {
    if (Array.isArray(object)) {
      const out = new Array<unknown>(object.length);
      for (let i = 0; i < object.length; i++) {
        path.push(i);
        out[i] = convert(object[i], ancestors, path, depth + 1);
        path.pop();
      }
      return out;
    }
    if (object instanceof Set) {
      const out: unknown[] = [];
      let i = 0;
      for (const item of object) {
        path.push(i++);
        out.push(convert(item, ancestors, path, depth + 1));
        path.pop();
      }
      return out;
    }
    if (object instanceof Map) {
      const out: Record<string, unknown> = {};
      for (const [key, item] of object) {
        const name = typeof key === 'symbol' ? undefined : String(key);
        if (name === undefined) continue;
        path.push(name);
        const converted = convertOrOmit(item, ancestors, path, depth + 1);
        path.pop();
        if (converted !== OMIT) defineField(out, name, converted);
      }
      return out;
    }
    const toJSON = (object as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      // The object stays on the ancestor list, so a toJSON that returns its own object is a cycle.
      return convertOrOmit(
        toJSON.call(object, path.length ? String(path[path.length - 1]) : ''),
        ancestors,
        path,
        depth + 1,
      );
    }
    const out: Record<string, unknown> = {};
    if (object instanceof Error) {
      out.name = object.name;
      out.message = object.message;
    }
    for (const key of Object.keys(object)) {
      path.push(key);
      const converted = convertOrOmit((object as Record<string, unknown>)[key], ancestors, path, depth + 1);
      path.pop();
      if (converted !== OMIT) defineField(out, key, converted);
    }
    return out;
  } finally {
    ancestors.pop();
  }
}

/** Plain assignment would let a `__proto__` key change the prototype instead of adding a field. */
function defineField(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/** `$.items[2].name`, the way a reader would write the path. */
function toPath(path: readonly (string | number)[]): string {
  let out = '$';
  for (const part of path) {
    out +=
      typeof part === 'number'
        ? `[${part}]`
        : /^[A-Za-z_$][\w$]*$/.test(part)
          ? `.${part}`
          : `[${JSON.stringify(part)}]`;
  }
  return out;
}
