import type { TaskSnapshot } from '@kr/core';

/**
 * A task as JSON on the wire. It keeps the Kestrun tutorial's field names (camelCase) so its
 * clients keep working — `id`, `name`, `description`, `stateText`, `startedAt`, `completedAt`,
 * `progress.percentComplete`, `progress.statusMessage`, `parentId`, `childrenId` — with `state`
 * as the state's name (Kestrun sent a number), ISO 8601 times (`null` when unset), and additions:
 * `language`, `createdAt`, `durationMs`, `end`, `error` (Failed only), `output`, `timeoutMs`.
 * The result is not part of it: it has its own route.
 */
export interface TaskJson {
  id: string;
  name: string;
  description: string;
  language: string;
  state: TaskSnapshot['state'];
  stateText: TaskSnapshot['state'];
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  durationMs: number | null;
  progress: { percentComplete: number; statusMessage: string };
  parentId: string | null;
  childrenId: string[];
  timeoutMs: number | null;
  end: TaskSnapshot['end'];
  error?: {
    message: string;
    type: string;
    location?: { line: number; column?: number };
    code?: string;
    category?: string;
  };
  output: { records: number; dropped: number };
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

// @kr/core hands out the same frozen snapshot while a task is unchanged, so its JSON is built once.
const memo = new WeakMap<TaskSnapshot, TaskJson>();

/** Converts a snapshot to its wire form. The same snapshot gives the same frozen object. */
export function toTaskJson(task: TaskSnapshot): TaskJson {
  const known = memo.get(task);
  if (known !== undefined) return known;
  const json: TaskJson = {
    id: task.id,
    name: task.name,
    description: task.description,
    language: task.language,
    state: task.state,
    stateText: task.state,
    createdAt: new Date(task.createdAt).toISOString(),
    startedAt: iso(task.startedAt),
    completedAt: iso(task.completedAt),
    durationMs:
      task.startedAt !== null && task.completedAt !== null ? task.completedAt - task.startedAt : null,
    progress: { percentComplete: task.progress.percentComplete, statusMessage: task.progress.statusMessage },
    parentId: task.parentId,
    childrenId: [...task.childrenIds],
    timeoutMs: task.timeoutMs,
    end: task.end,
    output: task.output,
  };
  if (task.state === 'Failed') {
    // The stack stays server-side: it can reveal paths and is rarely useful to an HTTP client.
    const { stack: _stack, ...error } = task.error;
    json.error = error;
  }
  // Frozen, so sendJson may keep its text (see query.ts) and no caller can change a shared copy.
  Object.freeze(json.progress);
  Object.freeze(json.childrenId);
  Object.freeze(json);
  memo.set(task, json);
  return json;
}
