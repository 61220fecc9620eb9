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
export interface MakeOptions {
  message?: string;
  hint?: string;
  cause?: unknown;
  details?: Record<string, unknown>;
  retryable?: boolean;
}

export interface ErrorTable<C extends string> {
  readonly area: string;
  readonly entries: Readonly<Record<C, ErrorEntry>>;
  /** The AppError for `code`: the table's kind, and its words unless the throw site says more. */
  make(code: C, messageOrOptions?: string | MakeOptions, options?: Omit<MakeOptions, 'message'>): AppError;
  has(code: string): code is C;
}

const tables = new Map<string, ErrorTable<string>>();
const codeOwner = new Map<string, string>();

export function errorTable<C extends string>(area: string, entries: Record<C, ErrorEntry>): ErrorTable<C> {
  const table: ErrorTable<C> = {
    area,
    entries,
    make(code, messageOrOptions, more) {
      const options: MakeOptions = typeof messageOrOptions === 'string' ? { ...more, message: messageOrOptions } : { ...messageOrOptions, ...more };
      const e = entries[code];
      return new AppError(code, options.message ?? e.message, {
        kind: e.kind,
        ...((options.hint ?? e.hint) === undefined ? {} : { hint: options.hint ?? e.hint }),
        retryable: options.retryable ?? e.retryable ?? kindIsRetryable(e.kind),
        ...(options.cause === undefined ? {} : { cause: options.cause }),
        ...(options.details === undefined ? {} : { details: options.details }),
      });
    },
    has(code: string): code is C {
      return Object.prototype.hasOwnProperty.call(entries, code);
    },
  };
  for (const code of Object.keys(entries)) {
    const owner = codeOwner.get(code);
    // A code means one thing: two areas claiming it would give it two kinds.
    if (owner !== undefined && owner !== area) throw new Error(`error code ${code} is in both the ${owner} and the ${area} tables`);
    codeOwner.set(code, area);
  }
  tables.set(area, table as unknown as ErrorTable<string>);
  return table;
}

/** The row of a code in whichever loaded table holds it. */
export function entryFor(code: string): ErrorEntry | undefined {
  const area = codeOwner.get(code);
  return area === undefined ? undefined : tables.get(area)?.entries[code];
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

/**
 * An AppError again from its serialized form (a worker thread's answer, the API's error
 * body in the CLI): the kind travels with it, so nothing downstream guesses from the code.
 */
export function fromSerialized(e: SerializedError, cause?: unknown): AppError {
  return new AppError(e.code, e.message, {
    kind: ERROR_KINDS.includes(e.kind) ? e.kind : 'internal',
    retryable: e.retryable,
    ...(e.hint === undefined ? {} : { hint: e.hint }),
    ...(e.details === undefined ? {} : { details: e.details }),
    ...(cause === undefined ? {} : { cause }),
  });
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

/** The codes every area may throw: a cancel, and the fallback for a foreign error. */
export const commonErrors = errorTable('common', {
  ABORTED: { kind: 'cancelled', message: 'The operation was cancelled.' },
  INTERNAL: {
    kind: 'internal',
    message: 'Something unexpected went wrong inside the workstation.',
    hint: 'Try again. If it keeps happening, send the log file to IT.',
  },
});

/** Turn anything thrown into an AppError, keeping AppErrors as they are. */
export function toAppError<C extends string>(err: unknown, table?: ErrorTable<C>, code?: C, fallbackMessage?: string): AppError {
  if (err instanceof AppError) return err;
  if (isAbortError(err)) return commonErrors.make('ABORTED', { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  if (table && code !== undefined) return table.make(code, { message: fallbackMessage ?? `Unexpected error: ${message}`, cause: err });
  return commonErrors.make('INTERNAL', { message: `Unexpected error: ${message}`, cause: err });
}

export function isAbortError(err: unknown): boolean {
  return (
    (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')) ||
    (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ABORT_ERR')
  );
}

/** Throw `ABORTED` when the signal has fired; call at the top of loops and after awaits. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw commonErrors.make('ABORTED', { cause: signal.reason });
}
