import type { TaskArguments } from '@kr/core';

/**
 * Messages Node sends to a .NET script host. Requests carry an `id` and get one `response`;
 * notifications (`cancel`, `release`, `shutdown`) do not.
 */
export type ToHostMessage =
  /** Parse / compile once. Answer: {@link PrepareBody}. */
  | {
      readonly t: 'prepare';
      readonly id: number;
      readonly language: string;
      readonly code: string;
      readonly args: TaskArguments;
    }
  /** Run one task to its end. Answer (when it ends): {@link RunBody}. Code travels again so a restarted host can run it. */
  | {
      readonly t: 'run';
      readonly id: number;
      readonly taskId: string;
      readonly language: string;
      readonly handle: string | null;
      readonly code: string;
      readonly args: TaskArguments;
    }
  /** Ask the task to stop (cooperative: PowerShell StopAsync, the script's CancellationToken). Acted on at once. */
  | { readonly t: 'cancel'; readonly taskId: string }
  /** The task ignored its cancellation: abandon what it holds (discard the runspace / thread). */
  | { readonly t: 'forceStop'; readonly id: number; readonly taskId: string }
  /** Drop what `prepare` cached. */
  | { readonly t: 'release'; readonly handle: string }
  /** Liveness + metrics. Answer: a flat object of numbers / strings. */
  | { readonly t: 'health'; readonly id: number }
  /** Exit now (the host also exits when the channel closes). */
  | { readonly t: 'shutdown' };

/** A request without its id: the supervisor numbers it. */
export type ToHostRequest = DistributiveOmit<Extract<ToHostMessage, { id: number }>, 'id'>;
/** A message that expects no answer. */
export type ToHostNotification = Exclude<ToHostMessage, { id: number }>;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
