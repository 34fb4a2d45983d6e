import type { HostFailure } from './host-failure.js';
import { toHostFailureMessage } from './host-failure.js';

export type HostErrorCode =
  /** The host process went away while the request was in flight (see `failure`). */
  | 'HOST_EXITED'
  /** The host could not be started. */
  | 'HOST_UNAVAILABLE'
  /** The host answered the request with an error. */
  | 'HOST_REQUEST_FAILED'
  /** No answer within the request's timeout. */
  | 'HOST_TIMEOUT'
  /** The supervisor was disposed. */
  | 'DISPOSED';

/** The one error type of @kr/dotnet-host. */
export class HostError extends Error {
  override readonly name = 'HostError';
  readonly code: HostErrorCode;
  readonly failure: HostFailure | undefined;

  constructor(
    code: HostErrorCode,
    message: string,
    options: { cause?: unknown; failure?: HostFailure } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.failure = options.failure;
  }

  static fromFailure(code: HostErrorCode, failure: HostFailure): HostError {
    return new HostError(code, toHostFailureMessage(failure), { failure });
  }
}

export function isHostError(value: unknown, code?: HostErrorCode): value is HostError {
  return value instanceof HostError && (code === undefined || value.code === code);
}
