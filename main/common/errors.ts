/**
 * One error class for the whole main process. Every failure a user or an IT admin can
 * see carries a stable `code` (for support, logs and tests) and a message written for
 * the person who has to act on it. Foreign errors (fetch, STS, SQLite, the IdP, the file
 * system) are mapped into it at the edge of the module that called them, with the
 * original kept as `cause`.
 *
 * Codes are `AREA_WHAT`, e.g. `AUTH_STATE_MISMATCH`, `STS_ACCESS_DENIED`,
 * `FORMAT_UNSUPPORTED`. Each area documents its codes next to where it throws them.
 */
export interface AppErrorOptions {
  /** What the user can do about it, in plain words. Shown under the message. */
  hint?: string;
  cause?: unknown;
  /** Non-secret facts useful in a bug report (status codes, byte offsets, key names). */
  details?: Record<string, unknown>;
  /** True when trying the same thing again later may succeed (network faults, 5xx). */
  retryable?: boolean;
}

export class AppError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
    this.retryable = options.retryable ?? false;
  }

  /** The shape that crosses the API boundary: never the cause (it may hold secrets). */
  toJSON(): SerializedError {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.details === undefined ? {} : { details: this.details }),
      retryable: this.retryable,
    };
  }
}

export interface SerializedError {
  code: string;
  message: string;
  hint?: string;
  details?: Record<string, unknown>;
  retryable: boolean;
}

export function isAppError(err: unknown, code?: string): err is AppError {
  return err instanceof AppError && (code === undefined || err.code === code);
}

/** Turn anything thrown into an AppError, keeping AppErrors as they are. */
export function toAppError(err: unknown, fallbackCode = 'INTERNAL', fallbackMessage?: string): AppError {
  if (err instanceof AppError) return err;
  if (isAbortError(err)) return new AppError('ABORTED', 'The operation was cancelled.', { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return new AppError(fallbackCode, fallbackMessage ?? `Unexpected error: ${message}`, { cause: err });
}

export function isAbortError(err: unknown): boolean {
  return (
    (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')) ||
    (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ABORT_ERR')
  );
}

/** Throw `ABORTED` when the signal has fired; call at the top of loops and after awaits. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AppError('ABORTED', 'The operation was cancelled.', { cause: signal.reason });
}
