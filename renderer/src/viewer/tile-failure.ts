/**
 * Why a tile did not load. An <img> that fails tells the page nothing (no status, no
 * body), so after the first failure of a view the viewer asks the same tile URL once
 * more with fetch and reads main's answer: the status says whose problem it is and
 * `x-error-code` names it (main/api/tile-route.ts), so the pathologist is told
 * "your session has expired" with a sign-in button, or "access denied" with the bucket,
 * instead of a count of missing parts.
 */
import { ApiError } from '../../../main/api/contract.js';

/** When main sent no code of its own (a route-level answer), the status is enough to choose the words. */
function codeOf(status: number): string {
  if (status === 401) return 'AUTH_SESSION_EXPIRED';
  if (status === 403) return 'S3_ACCESS_DENIED';
  if (status === 404) return 'TILE_SLIDE_CLOSED';
  if (status === 503) return 'STORAGE_UNREACHABLE';
  return 'TILE_READ_FAILED';
}

/** undefined when the tile now loads (the failure was passing) or the check itself could not run. */
export async function diagnoseTile(url: string): Promise<ApiError | undefined> {
  let res: Response;
  try {
    // A query main ignores makes a URL the browser's cache has not seen.
    res = await fetch(`${url}${url.includes('?') ? '&' : '?'}why=${Date.now()}`, { cache: 'no-store' });
  } catch {
    return new ApiError({ code: 'APP_SESSION_LOST', kind: 'unreachable', message: 'The workstation is not answering.', hint: 'Reload the window; if it persists, restart the app.', retryable: true });
  }
  if (res.ok) return undefined;
  const message = (await res.text().catch(() => '')).slice(0, 500) || `The tile could not be loaded (${res.status}).`;
  return new ApiError({ code: res.headers.get('x-error-code') ?? codeOf(res.status), kind: 'internal', message, retryable: res.status >= 500 });
}
