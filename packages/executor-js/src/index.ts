export { createJsExecutor } from './js-executor.js';
export type { JsExecutorOptions, JsPrepared } from './js-executor.js';
export { toJsonSafe, MAX_RESULT_DEPTH } from './to-json-safe.js';
export { JsExecutorError, isJsExecutorError } from './errors.js';
export type { JsExecutorErrorCode } from './errors.js';
export { toPreparedScript } from './prepare-script.js';
export type {
  ColumnShift,
  PreparedScript,
  PrepareScriptInput,
  PrepareScriptResult,
  ScriptLanguage,
  TypeStripper,
} from './prepare-script.js';
export { SCRIPT_GLOBALS } from './script-globals.js';
export type { ScriptGlobal } from './script-globals.js';
