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
/**
 * What kind of failure an error is. Everything that reacts to an error (the tile route's
 * HTTP status, the CLI's exit code, retries, the offline state, the renderer's titles and
 * buttons) switches on this, never on the code's spelling; `assertNever` in a `default`
 * makes the compiler fail when a kind is added and a switch forgets it.
 */
export const ERROR_KINDS = [
  'unreachable', // the service cannot be reached (network down, DNS, refused, timeout)
  'busy', // the service answered "slow down" / 503: retried, not offline
  'denied', // the identity may not do this (403, policy)
  'signin-needed', // a session or credential expired or is missing: sign in again
  'not-found', // the slide, object or record does not exist
  'unsupported', // recognisable, but this version cannot do it
  'invalid-input', // a corrupt file, a bad setting, a malformed argument
  'conflict', // someone else changed it first (412, a lock)
  'cancelled', // the user or the app stopped it
  'internal', // a bug or an unexpected state
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export function assertNever(x: never): never {
  throw new Error(`Unhandled case: ${String(x)}`);
}

/** One row of an area's error table: the kind and the words for the person who must act. */
export interface ErrorEntry {
  kind: ErrorKind;
  message: string;
  hint?: string;
  /** Defaults from the kind: unreachable and busy are retryable. */
  retryable?: boolean;
}

export function kindIsRetryable(kind: ErrorKind): boolean {
  switch (kind) {
    case 'unreachable':
    case 'busy':
      return true;
    case 'denied':
    case 'signin-needed':
    case 'not-found':
    case 'unsupported':
    case 'invalid-input':
    case 'conflict':
    case 'cancelled':
    case 'internal':
      return false;
    default:
      return assertNever(kind);
  }
}

/**
 * An area's error table: every code the area throws, with its kind and words, in one
 * place (see `main/auth/errors.ts`). `make(code, …)` builds the AppError; a `message`
 * given at the throw site replaces the table's when it can say more (which file, which
 * tile). Tables register themselves so a test can check every code has a renderer text.
 */
export interface ErrorTable<C extends string> {
  readonly area: string;
  readonly entries: Readonly<Record<C, ErrorEntry>>;
  make(code: C, options?: { message?: string; hint?: string; cause?: unknown; details?: Record<string, unknown>; retryable?: boolean }): AppError;
}

const tables = new Map<string, ErrorTable<string>>();

export function errorTable<C extends string>(area: string, entries: Record<C, ErrorEntry>): ErrorTable<C> {
  const table: ErrorTable<C> = {
    area,
    entries,
    make(code, options = {}) {
      const e = entries[code];
      return new AppError(code, options.message ?? e.message, {
        kind: e.kind,
        ...((options.hint ?? e.hint) === undefined ? {} : { hint: options.hint ?? e.hint }),
        retryable: options.retryable ?? e.retryable ?? kindIsRetryable(e.kind),
        ...(options.cause === undefined ? {} : { cause: options.cause }),
        ...(options.details === undefined ? {} : { details: options.details }),
      });
    },
  };
  tables.set(area, table as unknown as ErrorTable<string>);
  return table;
}

/** Every table loaded so far (tests import the areas, then check each code). */
export function registeredErrorTables(): ReadonlyMap<string, ErrorTable<string>> {
  return tables;
}

export interface AppErrorOptions {
  /** What kind of failure this is; see ERROR_KINDS. Tables set it; bare throws default to internal. */
  kind?: ErrorKind;
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
  readonly kind: ErrorKind;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.kind = options.kind ?? 'internal';
    this.hint = options.hint;
    this.details = options.details;
    this.retryable = options.retryable ?? false;
  }

  /** The shape that crosses the API boundary: never the cause (it may hold secrets). */
  toJSON(): SerializedError {
    return {
      code: this.code,
      kind: this.kind,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.details === undefined ? {} : { details: this.details }),
      retryable: this.retryable,
    };
  }
}

export interface SerializedError {
  code: string;
  kind: ErrorKind;
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
  if (isAbortError(err)) return new AppError('ABORTED', 'The operation was cancelled.', { kind: 'cancelled', cause: err });
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
  if (signal?.aborted) throw new AppError('ABORTED', 'The operation was cancelled.', { kind: 'cancelled', cause: signal.reason });
}
