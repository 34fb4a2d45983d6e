export { createPwshExecutor, POWERSHELL_ALIASES, getPwshHostPath } from './pwsh-executor.js';
export type { PwshExecutor, PwshExecutorOptions } from './pwsh-executor.js';
