/**
 * S3 (AWS or MinIO) over the injectable fetch, signed with SigV4 using the temporary
 * credentials from a CredentialProvider. Only what the workstation needs: list a
 * "folder" (ListObjectsV2 with delimiter '/'), HeadObject, ranged GetObject, and a
 * RangeReader per object.
 *
 * When storage refuses the credentials (ExpiredToken / InvalidToken: they expired in
 * flight, or our clock is behind), every request refused with the same credentials waits
 * on ONE shared renewal, then retries ONCE with the new credentials.
 */
import { withoutRedirects } from '../common/no-redirect.js';
import type { StorageEntry, StorageListing } from '../common/api-types.js';
import { type AppError } from '../common/errors.js';
import { logger } from '../common/log.js';
import type { CredentialProvider, TemporaryCredentials } from '../credentials/types.js';
import { sendWithRetry, TransportRangeReader, type RangeTransport } from './http.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import { parseListObjectsV2, parseS3Error, RENEWABLE_CODES, type ListObjectsV2Page } from './s3-xml.js';
import { signRequest } from './sigv4.js';
import type { FetchLike } from './types.js';
import { sourceErrors } from './errors.js';

const log = logger('sources.s3');

export interface S3Location {
  bucket: string;
  key: string;
}

/**
 * Why a bucket name breaks S3's naming rules (3–63 characters of lowercase letters,
 * digits, dots and hyphens, starting and ending with a letter or digit, no "..", not
 * shaped like an IP address), or undefined when it follows them. A name that is all
 * digits and dots is refused too: in a virtual-hosted URL `2130706433.` or `10.0.0.1`
 * would be read as an address, not as a bucket under the endpoint.
 */
export function bucketNameProblem(bucket: string): string | undefined {
  if (bucket.length < 3 || bucket.length > 63) return 'it must be 3 to 63 characters long';
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(bucket)) return 'it may hold only lowercase letters, digits, dots and hyphens, and must start and end with a letter or digit';
  if (bucket.includes('..')) return 'it may not hold two dots in a row';
  if (/^[0-9.]+$/.test(bucket) || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) return 'it may not look like an IP address';
  if (/^xn--|^sthree-|-s3alias$|--ol-s3$/.test(bucket)) return 'it uses a prefix or suffix S3 reserves';
  return undefined;
}

/**
 * `s3://bucket/some/key` → parts. The key is taken as written (no percent-decoding), as aws-cli does.
 * The bucket is refused unless it follows S3's naming rules: it becomes part of a host name.
 */
export function parseS3Uri(uri: string): S3Location {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(uri);
  if (!m || !m[1]) {
    throw sourceErrors.make('SOURCE_BAD_URI', `"${uri.slice(0, 200)}" is not an S3 address.`, { hint: 'Write it as s3://bucket/folder/slide.svs.' });
  }
  const problem = bucketNameProblem(m[1]);
  if (problem) {
    throw sourceErrors.make('SOURCE_BAD_URI', `"${m[1].slice(0, 80)}" is not a valid S3 bucket name: ${problem}.`, {
      hint: 'Write it as s3://bucket/folder/slide.svs, with the bucket name as S3 shows it.',
      details: { uri: uri.slice(0, 200) },
    });
  }
  return { bucket: m[1], key: m[2] ?? '' };
}

/** Percent-encode a key for the URL path the way S3 canonicalises it (RFC 3986, '/' kept). */
export function encodeKey(key: string): string {
  return key
    .split('/')
    .map((seg) => encodeURIComponent(seg).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

export interface S3ClientOptions {
  /** Empty = AWS (https://s3.<region>.amazonaws.com). */
  endpoint: string;
  region: string;
  forcePathStyle: boolean;
  credentials: CredentialProvider;
  fetch?: FetchLike;
  retry?: RetryPolicy;
  /**
   * Which keys are slides, for `slide` in a listing. Formats decides that (formats/slide-names.ts),
   * not the S3 layer: the composition root passes it in. Absent: listings carry no `slide`.
   */
  isSlide?: (key: string) => boolean;
}

export interface S3RequestOptions {
  query?: Record<string, string>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export class S3Client {
  readonly #o: S3ClientOptions;
  readonly #fetch: FetchLike;
  readonly #retry: RetryPolicy;

  constructor(options: S3ClientOptions) {
    this.#o = options;
    // Signed requests never follow a redirect (main/common/no-redirect.ts).
    this.#fetch = withoutRedirects(options.fetch ?? ((input, init) => fetch(input, init)));
    this.#retry = options.retry ?? DEFAULT_RETRY;
  }

  get credentials(): CredentialProvider {
    return this.#o.credentials;
  }

  url(bucket: string, key: string, query?: Record<string, string>): URL {
    const endpoint = new URL(this.#o.endpoint || `https://s3.${this.#o.region || 'us-east-1'}.amazonaws.com`);
    // Virtual-hosted style breaks TLS for bucket names with dots; those go path-style.
    const pathStyle = this.#o.forcePathStyle || bucket.includes('.');
    const base = endpoint.pathname.replace(/\/+$/, '');
    const u = new URL(endpoint.origin);
    if (pathStyle) {
      u.pathname = `${base}/${bucket}/${encodeKey(key)}`;
    } else {
      u.hostname = `${bucket}.${endpoint.hostname}`;
      u.pathname = `${base}/${encodeKey(key)}`;
    }
    for (const [k, v] of Object.entries(query ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) u.searchParams.set(k, v);
    // The last line of defence before a signed request: whatever the bucket, the request goes
    // to the endpoint (path style) or to a name directly under it (virtual-hosted).
    const expected = pathStyle ? endpoint.host : `${bucket}.${endpoint.host}`;
    if (u.host !== expected || u.protocol !== endpoint.protocol) {
      throw sourceErrors.make('SOURCE_BAD_URI', `The bucket "${bucket.slice(0, 80)}" would send the request to ${u.host} instead of the storage endpoint.`, {
        hint: 'Use a bucket name as S3 shows it.',
        details: { bucket: bucket.slice(0, 80), host: u.host, endpoint: endpoint.host },
      });
    }
    return u;
  }

  async #signedFetch(method: string, url: URL, creds: TemporaryCredentials, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
    const signed = await signRequest({ method, url, headers, region: this.#o.region || 'us-east-1', credentials: creds });
    delete signed.host; // fetch derives Host from the URL
    return this.#fetch(url.href, { method, headers: signed, ...(signal ? { signal } : {}) });
  }

  /**
   * One signed request, with the shared-renewal rule. Error answers come back as
   * Responses whose body can still be read (it was read once to find S3's error code).
   */
  async send(method: 'GET' | 'HEAD', bucket: string, key: string, o: S3RequestOptions = {}): Promise<Response> {
    const url = this.url(bucket, key, o.query);
    const headers = o.headers ?? {};
    const creds = await this.#o.credentials.get(o.signal ? { signal: o.signal } : {});
    const res = await this.#signedFetch(method, url, creds, headers, o.signal);
    if (res.status !== 400 && res.status !== 403) return res;
    const { response, code } = await readErrorCode(res, method);
    const renewable = code !== undefined ? RENEWABLE_CODES.has(code) : method === 'HEAD' && creds.expiration.getTime() <= Date.now() + 60_000;
    if (!renewable) return response;
    log.info('storage refused the credentials; renewing once', { code, bucket });
    const fresh = await this.#o.credentials.get({ rejected: creds, ...(o.signal ? { signal: o.signal } : {}) });
    return this.#signedFetch(method, url, fresh, headers, o.signal);
  }

  /** A RangeTransport for one object, for TransportRangeReader and the retry loop. */
  transport(bucket: string, key: string): RangeTransport {
    const uri = `s3://${bucket}/${key}`;
    return {
      uri,
      send: (method, headers, signal) => this.send(method, bucket, key, { headers, ...(signal ? { signal } : {}) }),
      retryable: (res) => res.status >= 500 || res.status === 429 || res.status === 408 || res.headers.get('x-sw-s3-code') === 'SlowDown' || res.headers.get('x-sw-s3-code') === 'RequestTimeout',
      error: (res) => s3Error(res, bucket, key),
    };
  }

  rangeReader(uri: string): S3RangeReader {
    const { bucket, key } = parseS3Uri(uri);
    if (!key || key.endsWith('/')) throw sourceErrors.make('SOURCE_NOT_A_FILE', `${uri} is a folder, not a slide file.`);
    return new S3RangeReader(this, bucket, key, this.#retry);
  }

  async headObject(bucket: string, key: string, signal?: AbortSignal): Promise<{ size: number; etag: string | undefined; lastModified: string | undefined }> {
    const t = this.transport(bucket, key);
    const res = await sendWithRetry(t, 'HEAD', {}, { requests: 0 }, signal, this.#retry);
    if (!res.ok) throw await t.error(res);
    return {
      size: Number(res.headers.get('content-length') ?? 0),
      etag: res.headers.get('etag') ?? undefined,
      lastModified: res.headers.get('last-modified') ?? undefined,
    };
  }

  /** Whole object or one range (small objects: annotations, configs, test reads). */
  async getObject(bucket: string, key: string, range?: { offset: number; length: number }, signal?: AbortSignal): Promise<Uint8Array> {
    if (range) {
      const reader = new S3RangeReader(this, bucket, key, this.#retry);
      return (await reader.read([range], signal)).buffers[0]!;
    }
    const t = this.transport(bucket, key);
    const res = await sendWithRetry(t, 'GET', {}, { requests: 0 }, signal, this.#retry);
    if (!res.ok) throw await t.error(res);
    return new Uint8Array(await res.arrayBuffer());
  }

  async listObjectsV2(bucket: string, prefix: string, o: { delimiter?: string; continuationToken?: string; maxKeys?: number; signal?: AbortSignal } = {}): Promise<ListObjectsV2Page> {
    const query: Record<string, string> = { 'list-type': '2', prefix };
    if (o.delimiter !== undefined) query.delimiter = o.delimiter;
    if (o.continuationToken) query['continuation-token'] = o.continuationToken;
    if (o.maxKeys) query['max-keys'] = String(o.maxKeys);
    const t: RangeTransport = { ...this.transport(bucket, ''), uri: `s3://${bucket}/${prefix}` };
    const send: RangeTransport = { ...t, send: (method, headers, signal) => this.send(method, bucket, '', { query, headers, ...(signal ? { signal } : {}) }), error: (res) => s3Error(res, bucket, prefix, true) };
    const res = await sendWithRetry(send, 'GET', {}, { requests: 0 }, o.signal, this.#retry);
    if (!res.ok) throw await send.error(res);
    return parseListObjectsV2(await res.text());
  }

  /** One "folder" of the storage browser: sub-folders first, then files; slides marked. */
  async list(uri: string, continuation?: string, signal?: AbortSignal): Promise<StorageListing> {
    const { bucket, key } = parseS3Uri(uri);
    const prefix = key === '' || key.endsWith('/') ? key : `${key}/`;
    const page = await this.listObjectsV2(bucket, prefix, { delimiter: '/', ...(continuation ? { continuationToken: continuation } : {}), ...(signal ? { signal } : {}) });
    const entries: StorageEntry[] = [
      ...page.prefixes.map((p): StorageEntry => ({ kind: 'folder', name: p.slice(prefix.length).replace(/\/$/, ''), uri: `s3://${bucket}/${p}` })),
      ...page.objects
        .filter((o) => o.key !== prefix) // the "folder marker" object some tools create
        .map(
          (o): StorageEntry => ({
            kind: 'file',
            name: o.key.slice(prefix.length),
            uri: `s3://${bucket}/${o.key}`,
            size: o.size,
            ...(o.lastModified ? { lastModified: o.lastModified } : {}),
            ...(this.#o.isSlide ? { slide: this.#o.isSlide(o.key) } : {}),
          }),
        ),
    ];
    return { uri: `s3://${bucket}/${prefix}`, entries, ...(page.nextContinuationToken ? { continuation: page.nextContinuationToken } : {}) };
  }
}

export class S3RangeReader extends TransportRangeReader {
  readonly bucket: string;
  readonly key: string;
  constructor(client: S3Client, bucket: string, key: string, retry?: RetryPolicy) {
    super(client.transport(bucket, key), retry);
    this.bucket = bucket;
    this.key = key;
  }
}

/** Read an error body once, keep its S3 code in a header, and hand back a re-readable Response. */
async function readErrorCode(res: Response, method: string): Promise<{ response: Response; code: string | undefined }> {
  const body = method === 'HEAD' ? '' : await res.text().catch(() => '');
  const parsed = parseS3Error(body);
  // HEAD answers have no body; MinIO and AWS put nothing else usable there either.
  const code = parsed.code ?? res.headers.get('x-minio-error-code') ?? undefined;
  const headers = new Headers(res.headers);
  if (code) headers.set('x-sw-s3-code', code);
  if (parsed.message) headers.set('x-sw-s3-message', parsed.message.slice(0, 300).replace(/[^\x20-\x7e]/g, ' '));
  return { response: new Response(method === 'HEAD' ? null : body, { status: res.status, statusText: res.statusText, headers }), code };
}

/** Turn an S3 error answer into words that name the bucket and key. */
export async function s3Error(res: Response, bucket: string, key: string, listing = false): Promise<AppError> {
  let code = res.headers.get('x-sw-s3-code') ?? undefined;
  let message = res.headers.get('x-sw-s3-message') ?? undefined;
  if (code === undefined) {
    const parsed = parseS3Error(await res.text().catch(() => ''));
    code = parsed.code;
    message = parsed.message;
  } else {
    await res.body?.cancel().catch(() => undefined);
  }
  const what = listing ? `the folder s3://${bucket}/${key}` : `s3://${bucket}/${key}`;
  const details = { status: res.status, s3Code: code, s3Message: message, bucket, key };
  if (res.status === 403 || code === 'AccessDenied') {
    return sourceErrors.make('SOURCE_ACCESS_DENIED', `You do not have access to ${what}.`, {
      hint: `Your account is not allowed to read bucket "${bucket}". Ask your administrator if you need it.`,
      details,
    });
  }
  if (res.status === 404 || code === 'NoSuchKey' || code === 'NoSuchBucket') {
    return sourceErrors.make('SOURCE_NOT_FOUND', code === 'NoSuchBucket' ? `The bucket "${bucket}" does not exist.` : `Nothing was found at ${what}.`, {
      hint: 'It may have been moved or deleted; refresh the folder.',
      details,
    });
  }
  if (code && RENEWABLE_CODES.has(code)) {
    return sourceErrors.make('SOURCE_CREDENTIALS_EXPIRED', 'Storage refused your access even after it was renewed.', {
      hint: "Check that this computer's date and time are correct, then sign out and in again.",
      details,
    });
  }
  if (res.status >= 500 || res.status === 429 || code === 'SlowDown') {
    return sourceErrors.make('SOURCE_UNAVAILABLE', `Storage is busy or unavailable and did not serve ${what} (HTTP ${res.status}${code ? ` ${code}` : ''}).`, {
      hint: 'Try again in a minute.',
      retryable: true,
      details,
    });
  }
  return sourceErrors.make('SOURCE_S3_ERROR', `Storage refused the request for ${what} (${code ?? `HTTP ${res.status}`}).`, { details });
}
