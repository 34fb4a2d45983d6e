export { createCSharpExecutor, CSHARP_ALIASES, getCSharpHostPath } from './csharp-executor.js';
export type { CSharpExecutor, CSharpExecutorOptions } from './csharp-executor.js';
export { toArgumentKind, toArgumentSignature } from './argument-signature.js';
export type { ArgumentKind } from './argument-signature.js';
