import type { TaskArguments } from './executor.js';
import type { TaskFunction } from './task.js';

/** A validated `create` input. */
export type CreateSpec = {
  id?: string;
  name?: string;
  description?: string;
  parentId?: string;
  timeoutMs: number | null;
  autoStart: boolean;
  args: TaskArguments;
} & ({ kind: 'code'; language: string; code: string } | { kind: 'function'; run: TaskFunction });

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: string[] };

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Names every executor injects; an argument may not shadow them. */
const RESERVED = new Set(['taskprogress', 'taskid', 'taskcancellationtoken', 'ct', 'signal']);
const MAX_NAME = 256;
const MAX_DESCRIPTION = 4096;
const MAX_ARG_DEPTH = 32;
/** The arguments of a task created without any. */
export const NO_ARGS: TaskArguments = Object.freeze({});

/**
 * Validates the untrusted input of `create` in one place. Returns every problem at once, so a
 * caller fixes its request in one round trip.
 */
export function parseCreateInput(
  input: unknown,
  defaults: { defaultTimeoutMs: number | null },
): ParseResult<CreateSpec> {
  const errors: string[] = [];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, errors: ['The task definition must be an object.'] };
  }
  const raw = input as Record<string, unknown>;

  let id: string | undefined;
  if (raw.id !== undefined && raw.id !== null && raw.id !== '') {
    if (typeof raw.id !== 'string' || !ID.test(raw.id)) {
      errors.push(
        `Invalid id ${JSON.stringify(raw.id)}: use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit.`,
      );
    } else id = raw.id;
  }

  let name: string | undefined;
  if (raw.name !== undefined) {
    if (typeof raw.name !== 'string' || raw.name.trim() === '')
      errors.push('The name must be a non-blank string.');
    else if (raw.name.length > MAX_NAME) errors.push(`The name is longer than ${MAX_NAME} characters.`);
    else name = raw.name;
  }

  let description: string | undefined;
  if (raw.description !== undefined) {
    if (typeof raw.description !== 'string') errors.push('The description must be a string.');
    else if (raw.description.length > MAX_DESCRIPTION)
      errors.push(`The description is longer than ${MAX_DESCRIPTION} characters.`);
    else description = raw.description;
  }

  let parentId: string | undefined;
  if (raw.parentId !== undefined && raw.parentId !== null) {
    if (typeof raw.parentId !== 'string' || raw.parentId.trim() === '')
      errors.push('The parentId must be a non-blank string.');
    else parentId = raw.parentId;
  }

  let timeoutMs = defaults.defaultTimeoutMs;
  if (raw.timeoutMs !== undefined && raw.timeoutMs !== null) {
    if (typeof raw.timeoutMs !== 'number' || !Number.isFinite(raw.timeoutMs) || raw.timeoutMs <= 0) {
      errors.push('The timeoutMs must be a positive number of milliseconds.');
    } else timeoutMs = raw.timeoutMs;
  }

  const autoStart = raw.autoStart === true;
  if (raw.autoStart !== undefined && typeof raw.autoStart !== 'boolean')
    errors.push('autoStart must be a boolean.');

  const isFunction = raw.run !== undefined;
  let args: TaskArguments = NO_ARGS;
  if (raw.args !== undefined && raw.args !== null) {
    if (typeof raw.args !== 'object' || Array.isArray(raw.args)) {
      errors.push('The arguments must be an object mapping variable names to values.');
    } else if (isFunction) {
      args = raw.args as TaskArguments;
    } else {
      for (const key of Object.keys(raw.args)) {
        if (!IDENTIFIER.test(key)) errors.push(`Argument name '${key}' is not a valid variable name.`);
        else if (RESERVED.has(key.toLowerCase()))
          errors.push(`Argument name '${key}' is reserved for the task runtime.`);
      }
      const problem = findNonJson(raw.args, '', 0);
      if (problem) errors.push(`Argument ${problem}`);
      else args = raw.args as TaskArguments;
    }
  }

  if (isFunction) {
    if (typeof raw.run !== 'function') errors.push('run must be a function.');
    if (raw.code !== undefined || raw.language !== undefined)
      errors.push('Give either run or language and code, not both.');
    if (errors.length > 0) return { ok: false, errors };
    return {
      ok: true,
      value: {
        kind: 'function',
        run: raw.run as TaskFunction,
        id,
        name,
        description,
        parentId,
        timeoutMs,
        autoStart,
        args,
      },
    };
  }

  if (typeof raw.language !== 'string' || raw.language.trim() === '') {
    errors.push('The language is missing (for example "javascript", "powershell" or "csharp").');
  }
  if (typeof raw.code !== 'string') errors.push('The code is missing: it must be a string.');
  else if (raw.code.trim() === '') errors.push('The code is empty.');
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      kind: 'code',
      language: (raw.language as string).trim(),
      code: raw.code as string,
      id,
      name,
      description,
      parentId,
      timeoutMs,
      autoStart,
      // The caller keeps its object; the task gets a copy it cannot change afterwards.
      args: args === NO_ARGS ? NO_ARGS : structuredClone(args),
    },
  };
}

/** Describes the first value that JSON cannot carry to another process, or returns null. */
function findNonJson(value: unknown, path: string, depth: number): string | null {
  if (depth > MAX_ARG_DEPTH) return `'${path}' nests deeper than ${MAX_ARG_DEPTH} levels.`;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return null;
  if (typeof value === 'number')
    return Number.isFinite(value) ? null : `'${path}' is ${value}, which JSON cannot carry.`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNonJson(value[i], `${path}[${i}]`, depth + 1);
      if (found) return found;
    }
    return null;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return `'${path}' is not a plain object or array.`;
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      const found = findNonJson(child, path ? `${path}.${key}` : key, depth + 1);
      if (found) return found;
    }
    return null;
  }
  return `'${path}' is a ${typeof value}, which JSON cannot carry.`;
}
