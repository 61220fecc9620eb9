/**
 * Turns a contract error into words a pathologist can act on: a short title chosen from
 * the error's code family, then the service's own message and hint, which are written
 * for people already. `action` says which button makes sense next to it.
 */
import type { ApiError } from '../../main/api/contract.js';
import { archiveErrorTitle } from './dicomweb-format.js';

export interface ErrorView {
  title: string;
  message: string;
  hint?: string;
  action?: 'sign-in' | 'retry';
}

function has(code: string, ...parts: string[]): boolean {
  return parts.some((p) => code.includes(p));
}

function bucketOf(err: ApiError, uri?: string): string | undefined {
  const d = err.details ?? {};
  if (typeof d.bucket === 'string') return d.bucket;
  const m = /^s3:\/\/([^/]+)/.exec(typeof d.uri === 'string' ? d.uri : uri ?? '');
  return m?.[1];
}

export function describeError(err: ApiError, context: { uri?: string } = {}): ErrorView {
  const code = err.code;
  const base = { message: err.message, ...(err.hint ? { hint: err.hint } : {}) };
  if (code === 'SLIDE_NOT_AVAILABLE_OFFLINE') return { title: 'Not available offline', ...base, action: 'retry' };
  const archive = archiveErrorTitle(code);
  if (archive) return { ...base, ...archive };
  if (has(code, 'SESSION_EXPIRED', 'NOT_SIGNED_IN', 'TOKEN_EXPIRED', 'EXPIRED_TOKEN')) {
    return { title: 'Your session has expired', ...base, hint: err.hint ?? 'Sign in again to continue.', action: 'sign-in' };
  }
  if (has(code, 'NO_STORAGE', 'NO_POLICY', 'NO_RIGHTS', 'STS_ACCESS_DENIED', 'CREDENTIALS_DENIED')) {
    return { title: 'Your account has no storage rights', ...base };
  }
  if (has(code, 'ACCESS_DENIED', 'FORBIDDEN')) {
    const bucket = bucketOf(err, context.uri);
    return { title: bucket ? `Access denied to “${bucket}”` : 'Access denied', ...base };
  }
  if (has(code, 'UNREACHABLE', 'NETWORK', 'UNAVAILABLE', 'TIMEOUT', 'TRANSPORT')) {
    const title = code.startsWith('AUTH_')
      ? 'The sign-in service cannot be reached'
      : code.startsWith('STS_')
        ? 'The storage sign-in service cannot be reached'
        : code.startsWith('APP_')
          ? 'The workstation is not answering'
          : 'Storage cannot be reached right now';
    return { title, ...base, action: 'retry' };
  }
  if (has(code, 'NOT_FOUND', 'NO_SUCH')) {
    return { title: 'Not found', ...base };
  }
  if (has(code, 'CANCELLED')) return { title: 'Sign-in cancelled', ...base };
  if (code === 'ADDRESS_LOCAL_NOT_CHOSEN' || code === 'SLIDE_LOCAL_NOT_CHOSEN') return { title: 'Choose the file again', ...base };
  if (code === 'APP_NO_FILE_DIALOG') return { title: 'Not available in this window', ...base };
  if (code === 'APP_SESSION_LOST') return { title: 'Disconnected', ...base };
  return { title: 'Something went wrong', ...base, action: err.retryable ? 'retry' : undefined } as ErrorView;
}
