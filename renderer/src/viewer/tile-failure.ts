/**
 * Why a tile did not load. An <img> that fails tells the page nothing (no status, no
 * body), so after the first failure of a view the viewer asks the same tile URL once
 * more with fetch and reads main's answer: the status says whose problem it is and
 * `x-error-code` and `x-error-kind` name it (main/api/tile-route.ts), so the pathologist is told
 * "your session has expired" with a sign-in button, or "access denied" with the bucket,
 * instead of a count of missing parts.
 */
import { ApiError, type ApiErrorKind } from '../../../main/api/contract.js';

/**
 * When main sent no kind of its own (a route-level answer), the status says it: the
 * tile route chooses statuses by kind (main/api/tile-route.ts `statusFor`).
 */
function kindOf(status: number): ApiErrorKind {
  if (status === 401) return 'signin-needed';
  if (status === 403) return 'denied';
  if (status === 404) return 'not-found';
  if (status === 409) return 'conflict';
  if (status === 415) return 'unsupported';
  if (status === 422) return 'invalid-input';
  if (status === 503) return 'unreachable';
  return 'internal';
}

const KINDS: readonly ApiErrorKind[] = ['unreachable', 'busy', 'denied', 'signin-needed', 'not-found', 'unsupported', 'invalid-input', 'conflict', 'cancelled', 'internal'];

function parseKind(header: string | null, status: number): ApiErrorKind {
  const k = KINDS.find((x) => x === header);
  return k ?? kindOf(status);
}

/** undefined when the tile now loads (the failure was passing) or the check itself could not run. */
export async function diagnoseTile(url: string): Promise<ApiError | undefined> {
  let res: Response;
  try {
    // A query main ignores makes a URL the browser's cache has not seen.
    res = await fetch(`${url}${url.includes('?') ? '&' : '?'}why=${Date.now()}`, // `cache` is a browser fetch option; Node's RequestInit type (unit tests) lacks it.
    { cache: 'no-store' } as RequestInit);
  } catch {
    return new ApiError({ code: 'APP_SESSION_LOST', kind: 'unreachable', message: 'The workstation is not answering.', hint: 'Reload the window; if it persists, restart the app.', retryable: true });
  }
  if (res.ok) return undefined;
  const message = (await res.text().catch(() => '')).slice(0, 500) || `The tile could not be loaded (${res.status}).`;
  const kind = parseKind(res.headers.get('x-error-kind'), res.status);
  return new ApiError({ code: res.headers.get('x-error-code') ?? 'TILE_READ_FAILED', kind, message, retryable: kind === 'unreachable' || kind === 'busy' });
}
