/**
 * Why a host went away, and the one table that turns each reason into the message tasks see.
 */
export type HostFailureKind =
  /** The process exited by itself (crash, Environment.Exit, unhandled exception). */
  | 'exited'
  /** The process was killed by a signal (SIGKILL from the OOM killer, an operator, a test). */
  | 'signalled'
  /** The executable could not be spawned (missing dotnet, missing build). */
  | 'spawn-failed'
  /** It started but never became ready (warm-up failed or timed out). */
  | 'start-failed'
  /** It stopped answering heartbeats and was killed. */
  | 'unresponsive'
  /** It sent something that is not the protocol. */
  | 'protocol'
  /** Recycled on purpose (a stuck task could not be force-stopped). */
  | 'recycled'
  /** The owner disposed it. */
  | 'disposed';

export interface HostFailure {
  readonly kind: HostFailureKind;
  /** The host's display name, e.g. "PowerShell host". */
  readonly host: string;
  readonly code?: number | null;
  readonly signal?: string | null;
  readonly detail?: string;
}

export const HOST_FAILURE_MESSAGES = {
  exited: (f) => `${f.host} exited with code ${f.code ?? 'unknown'}${suffix(f)}`,
  signalled: (f) => `${f.host} exited with signal ${f.signal ?? 'unknown'}${suffix(f)}`,
  'spawn-failed': (f) => `${f.host} could not be started${suffix(f)}`,
  'start-failed': (f) => `${f.host} did not become ready${suffix(f)}`,
  unresponsive: (f) => `${f.host} stopped responding and was restarted${suffix(f)}`,
  protocol: (f) => `${f.host} broke the channel protocol and was restarted${suffix(f)}`,
  recycled: (f) => `${f.host} was recycled${suffix(f)}`,
  disposed: (f) => `${f.host} was shut down${suffix(f)}`,
} as const satisfies Record<HostFailureKind, (failure: HostFailure) => string>;

/** The message for a failure, e.g. "PowerShell host exited with signal SIGKILL". */
export function toHostFailureMessage(failure: HostFailure): string {
  return HOST_FAILURE_MESSAGES[failure.kind](failure);
}

/** Classifies a child's `exit` event. */
export function toExitFailure(
  host: string,
  code: number | null,
  signal: NodeJS.Signals | null,
  detail?: string,
): HostFailure {
  return signal !== null
    ? { kind: 'signalled', host, code, signal, ...(detail ? { detail } : {}) }
    : { kind: 'exited', host, code, signal, ...(detail ? { detail } : {}) };
}

function suffix(f: HostFailure): string {
  return f.detail ? `: ${f.detail}` : '';
}
