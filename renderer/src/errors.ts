/**
 * Turns a contract error into words a pathologist can act on: a short title and the
 * button that makes sense next to it, chosen by the error's kind (which main decided
 * once, in the area's error table), then the service's own message and hint, which are
 * written for people already. A few codes get a title of their own where the kind's is
 * too general ("Your account has no storage rights" is a denial, but not of one bucket).
 * No pattern over code names: a code the renderer does not know still gets its kind's words.
 */
import type { ApiError, ApiErrorKind } from '../../main/api/contract.js';
import { archiveErrorTitle } from './dicomweb-format.js';

export interface ErrorView {
  title: string;
  message: string;
  hint?: string;
  action?: 'sign-in' | 'retry';
}

function bucketOf(err: ApiError, uri?: string): string | undefined {
  const d = err.details ?? {};
  if (typeof d.bucket === 'string') return d.bucket;
  const m = /^s3:\/\/([^/]+)/.exec(typeof d.uri === 'string' ? d.uri : uri ?? '');
  return m?.[1];
}

function assertNever(x: never): never {
  throw new Error(`Unhandled error kind: ${String(x)}`);
}

/** Which service a code belongs to, for "the sign-in service" vs "storage" in a title. */
function serviceOf(code: string): 'sign-in' | 'storage sign-in' | 'archive' | 'workstation' | 'storage' {
  const area = code.slice(0, code.indexOf('_') + 1);
  switch (area) {
    case 'AUTH_':
      return 'sign-in';
    case 'STS_':
    case 'CREDENTIALS_':
      return 'storage sign-in';
    case 'DICOMWEB_':
      return 'archive';
    case 'APP_':
    case 'API_':
      return 'workstation';
    default:
      return 'storage';
  }
}

/** Titles of single codes, where the kind's title would say less. */
const BY_CODE: Readonly<Record<string, { title: string; action?: 'sign-in' | 'retry' }>> = {
  SLIDE_NOT_AVAILABLE_OFFLINE: { title: 'Not available offline', action: 'retry' },
  TILE_OFFLINE: { title: 'Not available offline', action: 'retry' },
  STS_ACCESS_DENIED: { title: 'Your account has no storage rights' },
  AUTH_CANCELLED: { title: 'Sign-in cancelled' },
  SLIDE_LOCAL_NOT_CHOSEN: { title: 'Choose the file again' },
  APP_NO_FILE_DIALOG: { title: 'Not available in this window' },
  APP_SESSION_LOST: { title: 'Disconnected', action: 'retry' },
  CACHE_DISK_FULL: { title: 'The disk is full' },
  SOURCE_CHANGED: { title: 'The slide was replaced' },
  SETTINGS_LOCKED: { title: 'Set by your organisation' },
};

function byKind(kind: ApiErrorKind, code: string, err: ApiError, uri?: string): { title: string; action?: 'sign-in' | 'retry' } {
  const service = serviceOf(code);
  switch (kind) {
    case 'unreachable':
      return {
        title:
          service === 'sign-in'
            ? 'The sign-in service cannot be reached'
            : service === 'storage sign-in'
              ? 'The storage sign-in service cannot be reached'
              : service === 'archive'
                ? 'The image archive cannot be reached'
                : service === 'workstation'
                  ? 'The workstation is not answering'
                  : 'Storage cannot be reached right now',
        action: 'retry',
      };
    case 'busy':
      return { title: service === 'archive' ? 'The image archive is busy' : 'Storage is busy', action: 'retry' };
    case 'signin-needed':
      return { title: 'Your session has expired', action: 'sign-in' };
    case 'denied': {
      const bucket = bucketOf(err, uri);
      return { title: bucket ? `Access denied to “${bucket}”` : 'Access denied' };
    }
    case 'not-found':
      return { title: 'Not found' };
    case 'unsupported':
      return { title: 'Not supported' };
    case 'invalid-input':
      return { title: service === 'storage' ? 'This cannot be read' : 'Not valid' };
    case 'conflict':
      return { title: 'Changed elsewhere', action: 'retry' };
    case 'cancelled':
      return { title: 'Cancelled' };
    case 'internal':
      return err.retryable ? { title: 'Something went wrong', action: 'retry' } : { title: 'Something went wrong' };
    default:
      return assertNever(kind);
  }
}

export function describeError(err: ApiError, context: { uri?: string } = {}): ErrorView {
  const code = err.code;
  const base = { message: err.message, ...(err.hint ? { hint: err.hint } : {}) };
  const words = BY_CODE[code] ?? archiveErrorTitle(code) ?? byKind(err.kind, code, err, context.uri);
  const view: ErrorView = { title: words.title, ...base, ...(words.action ? { action: words.action } : {}) };
  if (view.action === 'sign-in' && !err.hint) view.hint = 'Sign in again to continue.';
  return view;
}
