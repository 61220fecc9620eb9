/**
 * DICOMweb client (QIDO-RS search, WADO-RS metadata and frames) over the injectable fetch,
 * with the bearer token sent straight to the archive.
 *
 * Tokens: asked from the token source before each request with a minimum validity, so a
 * token is renewed before it expires in flight; a JWT whose `iat` is close to
 * HealthImaging's 12-hour limit is renewed too. On 401 the token is renewed once (forced)
 * and the request retried once; a second 401 is DICOMWEB_UNAUTHORIZED. 403 is never
 * retried. 5xx, 429 and network faults are retried with backoff (main/sources/retry.ts).
 *
 * Frames are asked in their stored transfer syntax (`transfer-syntax=*`): Orthanc would
 * otherwise transcode JPEG to JPEG Lossless (about 150× slower, 7× larger), see
 * ../shared/notes/stack-notes.md §3. Several frames of one instance go in one request.
 *
 * Codes: DICOMWEB_UNAUTHORIZED, DICOMWEB_ACCESS_DENIED, DICOMWEB_NOT_FOUND,
 * DICOMWEB_SERVER_ERROR, DICOMWEB_UNREACHABLE, DICOMWEB_REQUEST_FAILED,
 * DICOMWEB_BAD_RESPONSE, DICOMWEB_TOKEN_TOO_OLD.
 */
import { withoutRedirects } from '../../common/no-redirect.js';
import { isAbortError, isAppError, throwIfAborted } from '../../common/errors.js';
import { registerSecret } from '../../common/log.js';
import { isNetworkError } from '../../common/network.js';
import { backoffMs, DEFAULT_RETRY, isRetryableStatus, parseRetryAfter, sleep, type RetryPolicy } from '../retry.js';
import type { FetchLike } from '../types.js';
import { jsonNumber, jsonString, jsonStrings, type DicomJson } from './json.js';
import { parseContentType, parseMultipart } from './multipart.js';
import { commonErrors } from '../../common/errors.js';
import { dicomwebErrors } from './errors.js';

export interface TokenSource {
  getAccessToken(opts?: { minValiditySeconds?: number; forceRefresh?: boolean }): Promise<string>;
}

export interface DicomwebClientOptions {
  /** DICOMweb root, e.g. https://dicom-medical-imaging.us-east-1.amazonaws.com/datastore/ID or http://host/dicom-web */
  root: string;
  fetch?: FetchLike;
  /** Absent: requests go without Authorization (an open archive). */
  token?: TokenSource;
  retry?: RetryPolicy;
  /** A token must stay valid this long to be sent (default 60 s). */
  minTokenValiditySeconds?: number;
  /** HealthImaging refuses tokens issued more than this long ago (default 12 h). */
  maxTokenAgeSeconds?: number;
  now?: () => number;
  /** Largest answer read (default 256 MiB): a hostile archive cannot fill main's memory. */
  maxAnswerBytes?: number;
}

export interface StudyQuery {
  /** DICOM PN matching; `*` and `?` wildcards allowed. */
  patientName?: string;
  patientId?: string;
  /** YYYYMMDD or a range YYYYMMDD-YYYYMMDD. */
  studyDate?: string;
  accessionNumber?: string;
  /** Default 'SM' (slide microscopy); '' for any. */
  modality?: string;
  limit?: number;
  offset?: number;
}

export interface StudySummary {
  studyInstanceUid: string;
  patientName: string | undefined;
  patientId: string | undefined;
  studyDate: string | undefined;
  accessionNumber: string | undefined;
  description: string | undefined;
  modalities: string[];
  seriesCount: number | undefined;
}

export interface SeriesSummary {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  modality: string | undefined;
  description: string | undefined;
  instanceCount: number | undefined;
}

export interface FramePart {
  bytes: Uint8Array;
  /** `image/jpeg`, `application/octet-stream`, `image/jp2`… */
  mediaType: string;
  transferSyntax: string | undefined;
}

export interface FrameBatch {
  frames: FramePart[];
  /** Bytes of the HTTP body (benchmarks count them). */
  bytes: number;
  requests: number;
}

/** Stored transfer syntax, whatever it is: JPEG frames arrive as stored. */
export const FRAMES_ACCEPT = 'multipart/related; type="application/octet-stream"; transfer-syntax=*';
const MAX_FRAMES_PER_REQUEST = 64;
const STUDY_FIELDS = ['00100010', '00100020', '00080020', '00080050', '00081030', '00080061', '00201206'];
const SERIES_FIELDS = ['00080060', '0008103E', '00201209'];

export class DicomwebClient {
  readonly root: string;
  readonly #fetch: FetchLike;
  readonly #token: TokenSource | undefined;
  readonly #retry: RetryPolicy;
  readonly #minValidity: number;
  readonly #maxAge: number;
  readonly #now: () => number;
  readonly #maxAnswer: number;

  constructor(options: DicomwebClientOptions) {
    this.root = options.root.replace(/\/+$/, '');
    // Bearer tokens never follow a redirect (main/common/no-redirect.ts).
    this.#fetch = withoutRedirects(options.fetch ?? fetch);
    this.#token = options.token;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#minValidity = options.minTokenValiditySeconds ?? 60;
    this.#maxAge = options.maxTokenAgeSeconds ?? 12 * 3600;
    this.#now = options.now ?? Date.now;
    this.#maxAnswer = options.maxAnswerBytes ?? 256 * 1024 * 1024;
  }

  /** The body, read while it stays under the bound; past it the stream is cancelled. */
  async #body(res: Response): Promise<Uint8Array> {
    const limit = this.#maxAnswer;
    const tooLarge = (): ReturnType<typeof dicomwebErrors.make> =>
      dicomwebErrors.make('DICOMWEB_BAD_RESPONSE', `The DICOMweb server sent an answer larger than ${Math.round(limit / 1048576)} MiB; the app stopped reading it.`, {
        hint: 'IT: check the archive address; a proxy or archive may be sending something other than DICOMweb.',
      });
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > limit) {
      await res.body?.cancel().catch(() => undefined);
      throw tooLarge();
    }
    if (!res.body) return new Uint8Array(await res.arrayBuffer());
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > limit) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge();
      }
      chunks.push(value);
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  async searchStudies(q: StudyQuery = {}, signal?: AbortSignal): Promise<StudySummary[]> {
    const params = new URLSearchParams();
    if (q.patientName) params.set('PatientName', q.patientName);
    if (q.patientId) params.set('PatientID', q.patientId);
    if (q.studyDate) params.set('StudyDate', q.studyDate);
    if (q.accessionNumber) params.set('AccessionNumber', q.accessionNumber);
    const modality = q.modality ?? 'SM';
    if (modality) params.set('ModalitiesInStudy', modality);
    for (const f of STUDY_FIELDS) params.append('includefield', f);
    if (q.limit !== undefined) params.set('limit', String(q.limit));
    if (q.offset !== undefined) params.set('offset', String(q.offset));
    const list = await this.#json(`/studies?${query(params)}`, signal);
    return list.map((ds) => ({
      studyInstanceUid: jsonString(ds, '0020000D') ?? '',
      patientName: jsonString(ds, '00100010'),
      patientId: jsonString(ds, '00100020'),
      studyDate: jsonString(ds, '00080020'),
      accessionNumber: jsonString(ds, '00080050'),
      description: jsonString(ds, '00081030'),
      modalities: jsonStrings(ds, '00080061'),
      seriesCount: jsonNumber(ds, '00201206'),
    })).filter((s) => s.studyInstanceUid !== '');
  }

  async searchSeries(studyInstanceUid?: string, q: { modality?: string } = {}, signal?: AbortSignal): Promise<SeriesSummary[]> {
    const params = new URLSearchParams();
    const modality = q.modality ?? 'SM';
    if (modality) params.set('Modality', modality);
    for (const f of SERIES_FIELDS) params.append('includefield', f);
    const path = studyInstanceUid ? `/studies/${uid(studyInstanceUid)}/series` : '/series';
    const list = await this.#json(`${path}?${query(params)}`, signal);
    return list.map((ds) => ({
      studyInstanceUid: jsonString(ds, '0020000D') ?? studyInstanceUid ?? '',
      seriesInstanceUid: jsonString(ds, '0020000E') ?? '',
      modality: jsonString(ds, '00080060'),
      description: jsonString(ds, '0008103E'),
      instanceCount: jsonNumber(ds, '00201209'),
    })).filter((s) => s.seriesInstanceUid !== '');
  }

  /** WADO-RS series metadata: one DICOM JSON dataset per instance, bulk data left out. */
  async seriesMetadata(studyInstanceUid: string, seriesInstanceUid: string, signal?: AbortSignal): Promise<DicomJson[]> {
    return this.#json(`/studies/${uid(studyInstanceUid)}/series/${uid(seriesInstanceUid)}/metadata`, signal);
  }

  /**
   * Frames (1-based numbers) of one instance, in the order asked, in their stored transfer
   * syntax. More than 64 are split over several requests (URL length, server limits).
   */
  async frames(studyInstanceUid: string, seriesInstanceUid: string, sopInstanceUid: string, frameNumbers: readonly number[], signal?: AbortSignal): Promise<FrameBatch> {
    if (frameNumbers.length === 0) return { frames: [], bytes: 0, requests: 0 };
    for (const n of frameNumbers) {
      if (!Number.isSafeInteger(n) || n < 1) throw dicomwebErrors.make('DICOMWEB_REQUEST_FAILED', `Frame number ${n} is not valid (frames are numbered from 1).`);
    }
    const out: FrameBatch = { frames: [], bytes: 0, requests: 0 };
    const base = `/studies/${uid(studyInstanceUid)}/series/${uid(seriesInstanceUid)}/instances/${uid(sopInstanceUid)}/frames/`;
    // HealthImaging refuses a frame list with duplicates: each frame is asked once and handed back per request slot.
    const unique = [...new Set(frameNumbers)];
    const got = new Map<number, FramePart>();
    for (let i = 0; i < unique.length; i += MAX_FRAMES_PER_REQUEST) {
      const chunk = unique.slice(i, i + MAX_FRAMES_PER_REQUEST);
      const res = await this.#request(base + chunk.join(','), FRAMES_ACCEPT, signal);
      const body = await this.#body(res);
      out.bytes += body.length;
      out.requests++;
      const ct = res.headers.get('content-type') ?? '';
      const parts = parseContentType(ct).mediaType.startsWith('multipart/')
        ? parseMultipart(ct, body)
        : [{ mediaType: parseContentType(ct).mediaType, transferSyntax: parseContentType(ct).params['transfer-syntax'], body, headers: {} }];
      if (parts.length !== chunk.length) {
        throw dicomwebErrors.make('DICOMWEB_BAD_RESPONSE', `The DICOMweb server sent ${parts.length} frames where ${chunk.length} were asked.`, {
          details: { asked: chunk.length, got: parts.length },
        });
      }
      parts.forEach((p, k) => got.set(chunk[k]!, { bytes: p.body, mediaType: p.mediaType, transferSyntax: p.transferSyntax }));
    }
    out.frames = frameNumbers.map((n) => got.get(n)!);
    return out;
  }

  async #json(path: string, signal?: AbortSignal): Promise<DicomJson[]> {
    const res = await this.#request(path, 'application/dicom+json', signal);
    // QIDO: 204 No Content means no match.
    if (res.status === 204) return [];
    const text = new TextDecoder().decode(await this.#body(res));
    if (text.trim() === '') return [];
    try {
      const v: unknown = JSON.parse(text);
      if (!Array.isArray(v)) throw new Error('not an array');
      return v as DicomJson[];
    } catch (err) {
      throw dicomwebErrors.make('DICOMWEB_BAD_RESPONSE', 'The DICOMweb server sent search results the app cannot read (not DICOM JSON).', { cause: err, details: { path: path.split('?')[0] } });
    }
  }

  async #bearer(force: boolean): Promise<string | undefined> {
    if (!this.#token) return undefined;
    let token = await this.#token.getAccessToken({ minValiditySeconds: this.#minValidity, ...(force ? { forceRefresh: true } : {}) });
    registerSecret(token);
    if (this.#tooOld(token)) {
      token = await this.#token.getAccessToken({ minValiditySeconds: this.#minValidity, forceRefresh: true });
      registerSecret(token);
      if (this.#tooOld(token)) {
        throw dicomwebErrors.make('DICOMWEB_TOKEN_TOO_OLD', 'The identity provider keeps handing out access tokens issued more than 12 hours ago, which the image archive refuses.', {
          hint: 'Ask the IT administrator to let the identity provider issue fresh access tokens on refresh (a new iat), or sign out and sign in again.',
        });
      }
    }
    return token;
  }

  /** A JWT whose iat is within the validity margin of the archive's age limit. Opaque tokens: unknown, false. */
  #tooOld(token: string): boolean {
    const iat = jwtIat(token);
    return iat !== undefined && iat + this.#maxAge - this.#minValidity <= this.#now() / 1000;
  }

  async #request(path: string, accept: string, signal?: AbortSignal): Promise<Response> {
    const url = this.root + path;
    let renewed = false;
    let force = false;
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(signal);
      const token = await this.#bearer(force);
      force = false;
      let res: Response;
      try {
        res = await this.#fetch(url, { headers: { accept, ...(token ? { authorization: `Bearer ${token}` } : {}) }, ...(signal ? { signal } : {}) });
      } catch (err) {
        if (isAbortError(err)) throw commonErrors.make('ABORTED', 'The operation was cancelled.', { cause: err });
        // Already classified by the network layer (a refused redirect, an untrusted certificate,
        // the proxy's refusal): not "unreachable", and not worth a retry.
        if (isAppError(err)) throw err;
        if (isNetworkError(err) && attempt < this.#retry.maxAttempts) {
          await sleep(backoffMs(attempt, this.#retry), signal);
          continue;
        }
        throw dicomwebErrors.make('DICOMWEB_UNREACHABLE', `The image archive at ${new URL(this.root).host} cannot be reached.`, {
          cause: err, retryable: true, hint: 'Check the network connection and the archive address in the settings.',
        });
      }
      if (res.ok) return res;
      const detail = describeRefusal(res.headers.get('www-authenticate'));
      const bodyText = await res.text().catch(() => '');
      const details = { status: res.status, path: path.split('?')[0], ...(detail ? { reason: detail } : {}) };
      if (res.status === 401) {
        if (this.#token && !renewed) {
          renewed = true;
          force = true;
          continue;
        }
        throw dicomwebErrors.make(
          'DICOMWEB_UNAUTHORIZED',
          this.#token
            ? `The image archive did not accept your sign-in${detail ? ` (${detail})` : ''}, even with a freshly renewed token.`
            : `The image archive asks for a sign-in${detail ? ` (${detail})` : ''}.`,
          { details, hint: this.#token ? 'Sign out and sign in again. If this keeps happening, the archive may expect tokens for another audience or issuer: tell the IT administrator.' : 'Sign in, then open the archive again.' },
        );
      }
      if (res.status === 403) {
        throw dicomwebErrors.make('DICOMWEB_ACCESS_DENIED', `You are signed in, but your account may not read this in the image archive${detail ? ` (${detail})` : ''}.`, {
          details, hint: 'Ask the IT administrator for access to this archive or study.',
        });
      }
      if (res.status === 404) {
        throw dicomwebErrors.make('DICOMWEB_NOT_FOUND', 'The image archive does not have this study, series, instance or frame (it may have been deleted or moved).', { details });
      }
      if (isRetryableStatus(res.status)) {
        if (attempt < this.#retry.maxAttempts) {
          await sleep(backoffMs(attempt, this.#retry, Math.random, parseRetryAfter(res.headers.get('retry-after'))), signal);
          continue;
        }
        throw dicomwebErrors.make('DICOMWEB_SERVER_ERROR', `The image archive failed to answer (HTTP ${res.status}) after ${attempt} attempts.`, {
          details, retryable: true, hint: 'Try again in a moment; if it persists, tell the IT administrator.',
        });
      }
      throw dicomwebErrors.make('DICOMWEB_REQUEST_FAILED', `The image archive refused the request (HTTP ${res.status}${bodyText ? `: ${bodyText.slice(0, 200)}` : ''}).`, { details });
    }
  }
}

/**
 * Query string with `^` (the PN component separator) left as is: Orthanc 1.10 does not
 * decode %5E and then matches no patient name with components.
 */
function query(params: URLSearchParams): string {
  return [...params].map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v).replace(/%5E/gi, '^')}`).join('&');
}

function uid(u: string): string {
  // 64 is the standard's limit; some writers (pydicom-built files) exceed it and archives keep them.
  if (!/^[0-9.]{1,128}$/.test(u)) throw dicomwebErrors.make('DICOMWEB_REQUEST_FAILED', `"${u.slice(0, 80)}" is not a DICOM UID.`);
  return u;
}

/** `error_description` (else `error`) of a Bearer challenge. */
export function describeRefusal(header: string | null): string | undefined {
  if (!header) return undefined;
  const desc = /error_description="([^"]*)"/i.exec(header)?.[1];
  return desc ?? /error="([^"]*)"/i.exec(header)?.[1];
}

/** `iat` of a JWT, read without verification (the archive verifies); undefined for opaque tokens. */
export function jwtIat(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { iat?: unknown };
    return typeof payload.iat === 'number' ? payload.iat : undefined;
  } catch {
    return undefined;
  }
}
