/**
 * Requests that carry credentials (SigV4-signed S3 reads, STS calls with a web-identity
 * token, DICOMweb with a bearer token) never follow redirects: a redirect from a
 * compromised or misconfigured server would otherwise take the Authorization header or
 * the signed query to wherever it points (fetch keeps Authorization on same-origin hops
 * and re-sends a POST body on 307/308). `withoutRedirects` asks fetch not to follow
 * (`redirect: 'manual'`) and turns any 3xx answer into a typed error, so no caller mistakes
 * it for an answer. The token endpoint is reached by openid-client, whose oauth4webapi
 * core already sends every request with `redirect: 'manual'`.
 *
 * Error code: NET_REDIRECT_REFUSED.
 */
import { errorTable } from './errors.js';

export const REDIRECT_ERRORS = errorTable('redirect', {
  NET_REDIRECT_REFUSED: {
    kind: 'denied',
    message: 'A server answered a request that carries your credentials with a redirect to another address, which the workstation does not follow.',
    hint: 'Tell the IT administrator: the storage, token or archive address in the settings must be the service itself, not an address that forwards elsewhere.',
  },
});

type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export function withoutRedirects(f: Fetch): Fetch {
  return async (input, init) => {
    const res = await f(input, { ...init, redirect: 'manual' });
    // Node's fetch gives the 3xx itself; a browser's would give an "opaqueredirect" with status 0.
    if ((res.status >= 300 && res.status < 400) || res.type === 'opaqueredirect') {
      await res.body?.cancel().catch(() => undefined);
      const from = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
      const to = res.headers.get('location');
      throw REDIRECT_ERRORS.make('NET_REDIRECT_REFUSED', {
        // Only origins: the path or query may hold a signature.
        details: { status: res.status, from: from.origin, ...(to ? { to: safeOrigin(to, from) } : {}) },
      });
    }
    return res;
  };
}

function safeOrigin(location: string, base: URL): string {
  try {
    return new URL(location, base).origin;
  } catch {
    return '(unreadable)';
  }
}
