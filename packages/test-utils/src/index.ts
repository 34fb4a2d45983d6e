export { createFakeClock } from './fake-clock.js';
export type { FakeClock } from './fake-clock.js';
export { createManualExecutor, flush } from './manual-executor.js';
export type { ManualExecutor, ManualRun } from './manual-executor.js';
export { describeExecutorContract } from './executor-contract.js';
export type { ContractScripts, ExecutorContractOptions } from './executor-contract.js';
