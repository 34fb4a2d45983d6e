import { isTaskError } from '@kr/core';
import type { TaskError } from '@kr/core';
import type { TaskErrorCode } from '@kr/core';

/** Codes the adapter adds to the core's own. */
export type HttpErrorCode = 'BAD_REQUEST' | 'FORBIDDEN' | 'ROUTE_NOT_FOUND' | 'INTERNAL';

export type ErrorCode = TaskErrorCode | HttpErrorCode;

/** The one table from error codes to HTTP statuses. */
export const HTTP_STATUS = {
  NOT_FOUND: 404,
  INVALID_STATE: 409,
  INVALID_ARGUMENT: 400,
  DUPLICATE_ID: 409,
  UNKNOWN_LANGUAGE: 400,
  COMPILE_ERROR: 422,
  EXECUTOR_ERROR: 503,
  DISPOSED: 503,
  BAD_REQUEST: 400,
  FORBIDDEN: 403,
  ROUTE_NOT_FOUND: 404,
  INTERNAL: 500,
} as const satisfies Record<ErrorCode, number>;

/** An error the adapter raises itself (bad query, forbidden create). */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly code: HttpErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The JSON error body: `{ error: { code, message, diagnostics? } }`. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; diagnostics?: TaskError['diagnostics'] };
}

/** Maps anything thrown in a route to a status and an error body; unknown errors become a 500. */
export function toErrorResponse(error: unknown): { status: number; body: ErrorBody } {
  if (isTaskError(error)) {
    const body: ErrorBody = { error: { code: error.code, message: error.message } };
    if (error.diagnostics.length > 0) body.error.diagnostics = error.diagnostics;
    return { status: HTTP_STATUS[error.code], body };
  }
  if (error instanceof HttpError) {
    return { status: HTTP_STATUS[error.code], body: { error: { code: error.code, message: error.message } } };
  }
  // Errors from Koa middleware (http-errors): a malformed or oversized body is the client's fault.
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const message = (error as { expose?: boolean; message?: string }).expose
      ? String((error as Error).message)
      : 'Bad request';
    return { status, body: { error: { code: 'BAD_REQUEST', message } } };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'Internal server error' } } };
}
