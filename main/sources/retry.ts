/**
 * When and how long to wait before trying a storage request again. Retried: network
 * errors, 5xx, 429 and S3's SlowDown / RequestTimeout; never 4xx answers that will not
 * change (403, 404, 412). Backoff is exponential with full jitter (AWS's recommendation,
 * so many clients hitting a throttled bucket spread out), bounded in count and delay.
 */
import { commonErrors } from '../common/errors.js';

export interface RetryPolicy {
  /** Total attempts including the first. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 5_000 };

const RETRYABLE_S3_CODES = new Set(['SlowDown', 'RequestTimeout', 'InternalError', 'ServiceUnavailable', 'Throttling', 'ThrottlingException', 'RequestTimeTooSkewed']);

export function isRetryableStatus(status: number, s3Code?: string): boolean {
  if (s3Code && RETRYABLE_S3_CODES.has(s3Code)) return true;
  return status >= 500 || status === 429 || status === 408;
}

/**
 * Delay before attempt number `attempt` (1 = the first retry). Full jitter:
 * uniform in [0, min(max, base·2^(attempt-1))]; a server's Retry-After raises the floor.
 */
export function backoffMs(attempt: number, policy: RetryPolicy = DEFAULT_RETRY, random: () => number = Math.random, retryAfterS?: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.floor(random() * ceiling);
  const floor = retryAfterS !== undefined && Number.isFinite(retryAfterS) && retryAfterS > 0 ? Math.min(policy.maxDelayMs, retryAfterS * 1000) : 0;
  return Math.max(floor, jittered);
}

export function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const n = Number(value);
  if (Number.isFinite(n)) return n;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : Math.max(0, (t - Date.now()) / 1000);
}

/** A sleep that ends early (with ABORTED) when the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(commonErrors.make('ABORTED', 'The operation was cancelled.', { cause: signal.reason }));
    const onAbort = (): void => {
      clearTimeout(t);
      reject(commonErrors.make('ABORTED', 'The operation was cancelled.', { cause: signal?.reason }));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
