export { createFakeClock } from './fake-clock.js';
export type { FakeClock } from './fake-clock.js';
export { createManualExecutor, flush } from './manual-executor.js';
export type { ManualExecutor, ManualRun } from './manual-executor.js';
