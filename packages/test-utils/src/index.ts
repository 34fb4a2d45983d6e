export { createFakeClock } from './fake-clock.js';
export type { FakeClock } from './fake-clock.js';
export { createManualExecutor, flush } from './manual-executor.js';
export type { ManualExecutor, ManualRun } from './manual-executor.js';
export { describeExecutorContract } from './executor-contract.js';
export type { ContractScripts, ExecutorContractOptions } from './executor-contract.js';
export { checkPrerequisites, DOTNET_MISSING, notBuilt } from './prerequisites.js';
export type { Prerequisites } from './prerequisites.js';
export { sleep, waitFor } from './wait.js';
