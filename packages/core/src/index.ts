export { TaskError, isTaskError, toTaskFailure } from './errors.js';
export type { TaskErrorCode, TaskErrorOptions, TaskFailure } from './errors.js';
export {
  TASK_STATES,
  FINISHED_STATES,
  TASK_EVENTS,
  TASK_TRANSITIONS,
  isFinished,
  transition,
} from './task-state.js';
export type {
  TaskState,
  FinishedState,
  TaskEvent,
  TaskEffect,
  TransitionRule,
  TransitionResult,
} from './task-state.js';
export {
  TaskProgress,
  INITIAL_PROGRESS,
  applyProgress,
  toPercent,
  toStatusMessage,
} from './task-progress.js';
export type { ProgressSnapshot, ProgressUpdate } from './task-progress.js';
export { isRunCancelled, onRunCancelled, OUTPUT_STREAMS } from './executor.js';
export type {
  Executor,
  ExecutorHealth,
  Diagnostic,
  OutputRecord,
  OutputStream,
  PrepareRequest,
  PrepareResult,
  RunContext,
  RunOutcome,
  TaskArguments,
} from './executor.js';
export { systemClock } from './clock.js';
export type { Clock, IdGenerator } from './clock.js';
export { randomIds } from './system-ids.js';
export type {
  CreateCodeTask,
  CreateFunctionTask,
  CreateTaskInput,
  EndReason,
  SequencedOutputRecord,
  TaskEnd,
  TaskFunction,
  TaskFunctionContext,
  TaskSnapshot,
} from './task.js';
export { createTaskService } from './task-service.js';
export type {
  DisposeReport,
  ListOptions,
  ListResult,
  OperationResult,
  OutputPage,
  TaskService,
  TaskServiceEvent,
  TaskServiceListener,
  TaskServiceOptions,
} from './task-service.js';
export { createFunctionExecutor, FUNCTION_LANGUAGE } from './function-executor.js';
