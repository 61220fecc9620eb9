/**
 * HTTP range reading, shared by plain HTTP(S) slides and S3 (which adds signing and its
 * own error bodies through a `RangeTransport`). One behaviour for both:
 *  - ranged GETs (keep-alive is fetch's default); exactly adjacent or overlapping ranges
 *    of one call go out as one request (the tile scheduler does the real coalescing);
 *  - the ETag of the first response is kept and sent as If-Match afterwards, so a replaced
 *    object fails with SOURCE_CHANGED (412) instead of mixing two versions' bytes;
 *  - the size comes from Content-Range, so stat() after a read costs nothing;
 *  - 5xx / 429 / SlowDown / network errors are retried with backoff and jitter, bounded;
 *  - a 200 to a ranged request (server ignores Range) is accepted only for small objects.
 *
 * Codes: SOURCE_ACCESS_DENIED, SOURCE_NOT_FOUND, SOURCE_CHANGED, SOURCE_UNAVAILABLE,
 * SOURCE_UNREACHABLE, SOURCE_NO_RANGE_SUPPORT, SOURCE_BAD_RANGE, SOURCE_BAD_RESPONSE.
 */
import { AppError, isAbortError, throwIfAborted } from '../common/errors.js';
import { logger } from '../common/log.js';
import { isNetworkError } from '../common/network.js';
import { backoffMs, DEFAULT_RETRY, parseRetryAfter, sleep, type RetryPolicy } from './retry.js';
import type { ByteRange, FetchLike, ObjectIdentity, RangeReader, RangeReadResult } from './types.js';
import { commonErrors } from '../common/errors.js';
import { sourceErrors } from './errors.js';

const log = logger('sources.http');

/** A 200 answer to a ranged request is used (sliced) only up to this size. */
export const MAX_UNRANGED_BYTES = 16 * 1024 * 1024;

export interface RangeTransport {
  /** For messages: the object's URI as the user knows it. */
  readonly uri: string;
  /** Send one request. `headers` holds Range / If-Match; the transport adds the rest (signing). */
  send(method: 'GET' | 'HEAD', headers: Record<string, string>, signal?: AbortSignal): Promise<Response>;
  /** A final (non-retryable or retries exhausted) error answer as an AppError. Body may be read. */
  error(res: Response): Promise<AppError>;
  /** Whether this answer is worth another attempt (5xx, 429, SlowDown). Default: by status. */
  retryable?(res: Response): boolean;
}

// ---- pure helpers (unit-tested) -------------------------------------------------------

export interface ContentRange {
  start: number;
  end: number; // inclusive
  size: number | undefined;
}

/** `bytes 0-1023/7886132`, `bytes 0-1023/*`, `bytes * /7886132` (no space) → parts. */
export function parseContentRange(value: string | null): ContentRange | { unsatisfied: true; size: number } | undefined {
  if (!value) return undefined;
  const m = /^bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)$/i.exec(value.trim());
  if (!m) return undefined;
  const size = m[3] === '*' ? undefined : Number(m[3]);
  if (m[1] === undefined) return size === undefined ? undefined : { unsatisfied: true, size };
  return { start: Number(m[1]), end: Number(m[2]), size };
}

export interface MergedRequest {
  start: number;
  /** Exclusive. */
  end: number;
  /** Indices into the caller's ranges served by this request. */
  members: number[];
}

/** Group ranges that touch or overlap into single requests; empty ranges need none. */
export function mergeRanges(ranges: readonly ByteRange[]): MergedRequest[] {
  const order = ranges.map((_, i) => i).filter((i) => ranges[i]!.length > 0);
  order.sort((a, b) => ranges[a]!.offset - ranges[b]!.offset);
  const out: MergedRequest[] = [];
  for (const i of order) {
    const r = ranges[i]!;
    const last = out[out.length - 1];
    if (last && r.offset <= last.end) {
      last.end = Math.max(last.end, r.offset + r.length);
      last.members.push(i);
    } else {
      out.push({ start: r.offset, end: r.offset + r.length, members: [i] });
    }
  }
  return out;
}

export function validateRanges(ranges: readonly ByteRange[]): void {
  for (const r of ranges) {
    if (!Number.isSafeInteger(r.offset) || !Number.isSafeInteger(r.length) || r.offset < 0 || r.length < 0) {
      throw sourceErrors.make('SOURCE_BAD_RANGE', `Invalid byte range ${r.offset}+${r.length}.`, { details: { ...r } });
    }
  }
}

// ---- the retry loop ---------------------------------------------------------------------

const defaultRetryable = (res: Response): boolean => res.status >= 500 || res.status === 429 || res.status === 408;

/**
 * Send with retries. Resolves with the first answer that is not worth retrying (success or
 * a definite error); rejects with SOURCE_UNREACHABLE / the transport's error after the
 * last attempt. `requests` counts every request made.
 */
export async function sendWithRetry(
  t: RangeTransport,
  method: 'GET' | 'HEAD',
  headers: Record<string, string>,
  counter: { requests: number },
  signal: AbortSignal | undefined,
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(signal);
    let res: Response;
    try {
      counter.requests++;
      res = await t.send(method, headers, signal);
    } catch (err) {
      if (err instanceof AppError) throw err;
      if (signal?.aborted || isAbortError(err)) throw commonErrors.make('ABORTED', 'The operation was cancelled.', { cause: err });
      if (!isNetworkError(err) || attempt >= policy.maxAttempts) {
        throw sourceErrors.make('SOURCE_UNREACHABLE', `Storage could not be reached for ${t.uri}.`, {
          hint: 'Check the network connection (VPN, Wi-Fi); pinned slides stay available offline.',
          cause: err,
          retryable: true,
          details: { attempts: attempt },
        });
      }
      const delay = backoffMs(attempt, policy);
      log.debug('network error; retrying', { uri: t.uri, attempt, delay });
      await sleep(delay, signal);
      continue;
    }
    const retryable = (t.retryable ?? defaultRetryable)(res);
    if (!retryable || attempt >= policy.maxAttempts) return res;
    await res.body?.cancel().catch(() => undefined);
    const delay = backoffMs(attempt, policy, Math.random, parseRetryAfter(res.headers.get('retry-after')));
    log.info('storage asked to retry', { uri: t.uri, status: res.status, attempt, delay });
    await sleep(delay, signal);
  }
}

// ---- the reader ------------------------------------------------------------------------

/** More parallel connections than a scheduler ever uses per host are not worth opening. */
const MAX_PRECONNECT = 8;

export class TransportRangeReader implements RangeReader {
  readonly uri: string;
  readonly #t: RangeTransport;
  readonly #policy: RetryPolicy;
  #size: number | undefined;
  #etag: string | undefined;
  #lastModified: string | undefined;
  #closed = false;

  constructor(transport: RangeTransport, policy: RetryPolicy = DEFAULT_RETRY) {
    this.uri = transport.uri;
    this.#t = transport;
    this.#policy = policy;
  }

  #identity(): ObjectIdentity {
    return { uri: this.uri, size: this.#size ?? 0, etag: this.#etag, lastModified: this.#lastModified };
  }

  /**
   * As a browser's preconnect: one 1-byte GET per connection wanted, sent together so the
   * HTTP client opens that many sockets, which it keeps alive for the reads that follow.
   * Their answers are dropped: they must not teach this reader a size or version.
   */
  preconnect(connections: number): void {
    if (this.#closed) return;
    for (let i = 0; i < Math.min(connections, MAX_PRECONNECT); i++) {
      this.#t
        .send('GET', { range: 'bytes=0-0' })
        .then((res) => res.body?.cancel())
        .catch(() => undefined);
    }
  }

  async stat(signal?: AbortSignal): Promise<ObjectIdentity> {
    if (this.#size !== undefined) return this.#identity();
    // A 1-byte GET rather than HEAD: same cost, and error answers carry a body (S3's code).
    await this.read([{ offset: 0, length: 1 }], signal);
    return this.#identity();
  }

  async read(ranges: readonly ByteRange[], signal?: AbortSignal): Promise<RangeReadResult> {
    if (this.#closed) throw sourceErrors.make('SOURCE_CLOSED', `The reader for ${this.uri} was closed.`);
    validateRanges(ranges);
    const buffers: Uint8Array[] = ranges.map(() => new Uint8Array(0));
    const counter = { requests: 0 };
    const clip = (r: ByteRange): ByteRange => {
      if (this.#size === undefined) return r;
      const end = Math.min(r.offset + r.length, this.#size);
      return { offset: r.offset, length: Math.max(0, end - r.offset) };
    };
    const clipped = ranges.map(clip);
    const requests = mergeRanges(clipped);
    // The first request of a reader learns size and ETag; the rest go in parallel after it.
    const run = async (m: MergedRequest): Promise<void> => {
      const bytes = await this.#fetchRange(m.start, m.end, counter, signal);
      for (const i of m.members) {
        const r = clipped[i]!;
        const from = r.offset - m.start;
        buffers[i] = bytes.subarray(Math.min(from, bytes.length), Math.min(from + r.length, bytes.length));
      }
    };
    let rest = requests;
    if (this.#etag === undefined && requests.length > 0) {
      await run(requests[0]!);
      rest = requests.slice(1).map((m) => {
        // Now that the size is known, clip again (the caller may have sized reads generously).
        const end = this.#size === undefined ? m.end : Math.min(m.end, this.#size);
        return { ...m, end };
      });
      for (const m of rest) for (const i of m.members) clipped[i] = clip(clipped[i]!);
    }
    await Promise.all(rest.filter((m) => m.end > m.start).map(run));
    return { buffers, requests: counter.requests };
  }

  async #fetchRange(start: number, end: number, counter: { requests: number }, signal?: AbortSignal): Promise<Uint8Array> {
    if (end <= start) return new Uint8Array(0);
    const headers: Record<string, string> = { range: `bytes=${start}-${end - 1}` };
    if (this.#etag) headers['if-match'] = this.#etag;
    for (let bodyAttempt = 1; ; bodyAttempt++) {
      const res = await sendWithRetry(this.#t, 'GET', headers, counter, signal, this.#policy);
      if (res.status === 206) {
        this.#learn(res);
        const cr = parseContentRange(res.headers.get('content-range'));
        if (cr && 'unsatisfied' in cr) throw this.#badResponse('206 without a byte range');
        if (cr?.size !== undefined) this.#size = cr.size;
        if (cr && cr.start !== start) throw this.#badResponse(`asked for bytes from ${start}, got ${cr.start}`);
        try {
          return new Uint8Array(await res.arrayBuffer());
        } catch (err) {
          // Connection cut mid-body: the same bounded retry as a failed request.
          if (signal?.aborted) throw commonErrors.make('ABORTED', 'The operation was cancelled.', { cause: err });
          if (bodyAttempt >= this.#policy.maxAttempts) throw sourceErrors.make('SOURCE_UNREACHABLE', `The connection broke while reading ${this.uri}.`, { cause: err, retryable: true });
          await sleep(backoffMs(bodyAttempt, this.#policy), signal);
          continue;
        }
      }
      if (res.status === 200) {
        const length = Number(res.headers.get('content-length') ?? NaN);
        if (Number.isFinite(length) && length > MAX_UNRANGED_BYTES) {
          await res.body?.cancel().catch(() => undefined);
          throw this.#noRanges(length);
        }
        const all = new Uint8Array(await res.arrayBuffer());
        if (all.length > MAX_UNRANGED_BYTES) throw this.#noRanges(all.length);
        this.#learn(res);
        this.#size = all.length;
        return all.subarray(Math.min(start, all.length), Math.min(end, all.length));
      }
      if (res.status === 416) {
        const cr = parseContentRange(res.headers.get('content-range'));
        await res.body?.cancel().catch(() => undefined);
        if (cr && 'unsatisfied' in cr) {
          this.#size = cr.size;
          if (start >= cr.size) return new Uint8Array(0);
        }
        throw this.#badResponse(`416 for bytes ${start}-${end - 1}`);
      }
      if (res.status === 412) {
        await res.body?.cancel().catch(() => undefined);
        throw sourceErrors.make('SOURCE_CHANGED', `${this.uri} was replaced in storage while it was open.`, {
          hint: 'Close the slide and open it again to see the new version.',
          details: { etag: this.#etag },
        });
      }
      throw await this.#t.error(res);
    }
  }

  #learn(res: Response): void {
    const etag = res.headers.get('etag') ?? undefined;
    if (this.#etag === undefined) {
      this.#etag = etag;
      this.#lastModified = res.headers.get('last-modified') ?? undefined;
    } else if (etag !== undefined && etag !== this.#etag) {
      // A server that ignores If-Match must still not hand us a second version's bytes.
      throw sourceErrors.make('SOURCE_CHANGED', `${this.uri} was replaced in storage while it was open.`, {
        hint: 'Close the slide and open it again to see the new version.',
        details: { before: this.#etag, now: etag },
      });
    }
  }

  #noRanges(size: number): AppError {
    return sourceErrors.make('SOURCE_NO_RANGE_SUPPORT', `The server holding ${this.uri} does not support partial downloads, and the file is too large (${size} bytes) to read whole.`, {
      hint: 'IT: the web server must answer HTTP Range requests (206 Partial Content) for slide files.',
      details: { size },
    });
  }

  #badResponse(why: string): AppError {
    return sourceErrors.make('SOURCE_BAD_RESPONSE', `Storage answered a read of ${this.uri} in a way the workstation cannot use (${why}).`, { details: { why } });
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}

// ---- plain HTTP(S) ---------------------------------------------------------------------

export interface HttpReaderOptions {
  fetch?: FetchLike;
  /** Extra headers on every request (e.g. a bearer token from a source that needs one). */
  headers?: Record<string, string>;
  retry?: RetryPolicy;
}

export function httpError(uri: string, status: number, statusText = ''): AppError {
  if (status === 401 || status === 403) {
    return sourceErrors.make('SOURCE_ACCESS_DENIED', `You do not have access to ${uri}.`, {
      hint: 'Ask whoever shares this file for access, or check that the link is complete.',
      details: { status },
    });
  }
  if (status === 404 || status === 410) return sourceErrors.make('SOURCE_NOT_FOUND', `Nothing was found at ${uri}.`, { hint: 'Check the address; the file may have been moved or deleted.', details: { status } });
  if (status >= 500 || status === 429) {
    return sourceErrors.make('SOURCE_UNAVAILABLE', `The server holding ${uri} is not answering properly (HTTP ${status}).`, {
      hint: 'Try again in a minute.',
      retryable: true,
      details: { status },
    });
  }
  return sourceErrors.make('SOURCE_HTTP_ERROR', `Reading ${uri} failed with HTTP ${status} ${statusText}.`.trim(), { details: { status } });
}

export class HttpRangeReader extends TransportRangeReader {
  constructor(url: string, options: HttpReaderOptions = {}) {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw sourceErrors.make('SOURCE_BAD_URI', `${url} is not an http(s) address.`);
    const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
    // Never show credentials embedded in a URL in messages or cache keys.
    const shown = new URL(u.href);
    shown.username = '';
    shown.password = '';
    const transport: RangeTransport = {
      uri: shown.href,
      send: (method, headers, signal) => doFetch(u.href, { method, headers: { ...options.headers, ...headers }, ...(signal ? { signal } : {}) }),
      error: async (res) => {
        await res.body?.cancel().catch(() => undefined);
        return httpError(shown.href, res.status, res.statusText);
      },
    };
    super(transport, options.retry);
  }
}
