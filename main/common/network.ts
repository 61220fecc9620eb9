/**
 * The one answer to "could the service not be reached at all?" (as opposed to: it was
 * reached and said no). Our own errors answer by their kind; foreign ones (fetch, undici,
 * Node's sockets, DNS) by their error codes, looked for down the `cause` chain because
 * fetch wraps the socket error in a `TypeError('fetch failed')`.
 */
import { isAbortError, isAppError } from './errors.js';

const REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'the connection was refused',
  ECONNRESET: 'the connection was cut',
  EPIPE: 'the connection was cut',
  UND_ERR_SOCKET: 'the connection was cut',
  UND_ERR_CLOSED: 'the connection was cut',
  ENOTFOUND: 'the server name could not be found',
  EAI_AGAIN: 'the server name could not be looked up',
  ETIMEDOUT: 'no answer in time',
  UND_ERR_CONNECT_TIMEOUT: 'no answer in time',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  UND_ERR_BODY_TIMEOUT: 'no answer in time',
  ENETUNREACH: 'no network',
  EHOSTUNREACH: 'the server is out of reach of this network',
  EHOSTDOWN: 'the server is out of reach of this network',
};

function* causes(err: unknown): Generator<unknown> {
  let e: unknown = err;
  // Bounded: a cause chain can loop.
  for (let depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    yield e;
    e = (e as { cause?: unknown }).cause;
  }
}

export function isNetworkError(err: unknown): boolean {
  for (const e of causes(err)) {
    // Our own errors were classified where they were made: trust the kind. Only an
    // `internal` wrapper (a foreign error caught by a generic fallback) says nothing, so
    // its cause is looked at.
    if (isAppError(e) && e.kind !== 'internal') return e.kind === 'unreachable';
    if (isAbortError(e)) return false;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code in REASONS) return true;
    if (e instanceof TypeError && e.message === 'fetch failed') return true;
    if (e instanceof Error && /other side closed|socket hang up/i.test(e.message)) return true;
  }
  return false;
}

/** Why it could not be reached, in a few words for a banner; undefined when nothing says. */
export function networkReason(err: unknown): string | undefined {
  for (const e of causes(err)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && REASONS[code]) return REASONS[code];
    if ((e as { name?: unknown }).name === 'TimeoutError') return REASONS['ETIMEDOUT'];
  }
  return undefined;
}
