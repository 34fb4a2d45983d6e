export { createHostSupervisor } from './host-supervisor.js';
export type {
  HostSupervisor,
  HostSupervisorOptions,
  HostInfo,
  HostLogEntry,
  HostStatus,
  HostEvent,
} from './host-supervisor.js';
export { createHostExecutor } from './host-executor.js';
export type { HostExecutor, HostExecutorOptions, HostPrepared } from './host-executor.js';
export { HostError, isHostError } from './errors.js';
export type { HostErrorCode } from './errors.js';
export { HOST_FAILURE_MESSAGES, toHostFailureMessage, toExitFailure } from './host-failure.js';
export type { HostFailure, HostFailureKind } from './host-failure.js';
export { parseFromHost, parsePrepareBody, parseRunBody } from './from-host.js';
export type { FromHostMessage, PrepareBody, ParseResult } from './from-host.js';
export type { ToHostMessage, ToHostRequest, ToHostNotification } from './to-host.js';
export { toFrame, createFrameDecoder, MAX_FRAME_BYTES } from './frame-codec.js';
export type { FrameDecoder } from './frame-codec.js';
export { findDotnet, getRuntimeIdentifier, publishScriptHost, runDotnetPublish } from './dotnet-build.js';
export type { DotnetPublishOptions } from './dotnet-build.js';
