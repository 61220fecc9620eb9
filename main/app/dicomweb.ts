/**
 * Wires the DICOMweb side: one DicomwebClient per configured archive (`storage.dicomweb`),
 * each sending the signed-in user's bearer token for that archive (AuthService's token
 * source: an RFC 8707 resource token, or the sign-in's access token), and the browse
 * calls of the renderer (archives, study search, series of a study) on top of them.
 *
 * The clients live as long as the services: the token source asks AuthService at every
 * request, so a sign-out, another user or a renewal needs no rebuilding here. Errors leave
 * with the archive's name in words: a refused token (401) is an ended session, 403 says
 * the archive refused this account, and a dead archive says it cannot be reached.
 *
 * Error codes (besides the client's DICOMWEB_* and AUTH_*): DICOMWEB_UNKNOWN_SOURCE,
 * DICOMWEB_BAD_QUERY.
 */
import type { DicomwebSeries, DicomwebSourceInfo, DicomwebStudy, DicomwebStudyPage, DicomwebStudyQuery } from '../api/contract.js';
import type { AuthService } from '../auth/index.js';
import { type AppError, toAppError } from '../common/errors.js';
import type { DicomwebSetting, Settings } from '../config/index.js';
import { dicomwebSeriesUri } from '../sources/dicomweb/address.js';
import { DicomwebClient, type StudyQuery } from '../sources/dicomweb/client.js';
import type { FetchLike } from '../common/fetch.js';
import { appErrors } from './errors.js';
import { dicomwebErrors, type DicomwebErrorCode } from '../sources/dicomweb/errors.js';

/** Studies per page when the renderer does not say. */
export const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 200;
/**
 * Up to this many results, pages are cut from one answer that starts at 0 (see searchStudies);
 * beyond, the archive's own offset is used. HealthImaging answers at most 1000 per search.
 */
const FROM_START_LIMIT = 1000;
/** DICOM LO/PN values are at most 64 characters; longer input is a mistake, not a search. */
const MAX_TERM = 64;

export interface DicomwebWiring {
  settings: Pick<Settings, 'storage'>;
  auth: Pick<AuthService, 'tokenSource'>;
  fetch?: FetchLike;
}

export interface DicomwebServices {
  /** The client of a configured archive, by its settings name (the resolver's seam). */
  client(name: string): DicomwebClient;
  sources(): DicomwebSourceInfo[];
  searchStudies(source: string, query: DicomwebStudyQuery, offset: number, limit: number, signal?: AbortSignal): Promise<DicomwebStudyPage>;
  listSeries(source: string, study: string, signal?: AbortSignal): Promise<DicomwebSeries[]>;
}

/** The resource indicators the sign-in must ask for, so the refresh token can later get each archive's token. */
export function dicomwebResources(settings: Pick<Settings, 'storage'>): string[] {
  return [...new Set((settings.storage.dicomweb ?? []).flatMap((d) => (d.resource ? [d.resource] : [])))];
}

function labelOf(s: DicomwebSetting): string {
  return s.label ?? s.name;
}

export function createDicomweb(w: DicomwebWiring): DicomwebServices {
  const entries = w.settings.storage.dicomweb ?? [];
  const clients = new Map<string, { setting: DicomwebSetting; client: DicomwebClient }>();
  for (const setting of entries) {
    const client = new DicomwebClient({
      root: setting.url,
      token: w.auth.tokenSource(setting.resource),
      ...(w.fetch ? { fetch: w.fetch } : {}),
    });
    // Names are unique regardless of case (main/config/schema.ts); addresses may differ in case.
    clients.set(setting.name.toLowerCase(), { setting, client });
  }

  const find = (name: string): { setting: DicomwebSetting; client: DicomwebClient } => {
    const hit = clients.get(name.toLowerCase());
    if (!hit) {
      throw appErrors.make('DICOMWEB_UNKNOWN_SOURCE', `The image archive "${name.slice(0, 80)}" is not in this workstation's settings.`, {
        hint: entries.length ? `Known archives: ${entries.map(labelOf).join(', ')}.` : 'No image archive is configured. Ask IT to add one (storage.dicomweb).',
        details: { archive: name },
      });
    }
    return hit;
  };

  return {
    client: (name) => find(name).client,
    sources: () => entries.map((s) => ({ name: s.name, label: labelOf(s), uri: `dicomweb://${encodeURIComponent(s.name)}/` })),
    searchStudies: async (source, query, offset, limit, signal) => {
      const { setting, client } = find(source);
      const q = studyQuery(query);
      const size = Math.min(Math.max(1, Math.floor(limit)), MAX_PAGE_SIZE);
      const from = Math.max(0, Math.floor(offset));
      // One more than the page: whether a next page exists, without a count the archive may not give.
      // Orthanc 1.10 applies `limit` before `offset` once a study-level filter such as
      // ModalitiesInStudy is set (limit=4&offset=3 answers one study of eight), and QIDO
      // promises no order across requests; so pages are cut here from one answer that starts
      // at 0, as long as that stays small.
      const fromStart = from + size + 1 <= FROM_START_LIMIT;
      const answer = await inWords(setting, 'its studies', () =>
        client.searchStudies({ ...q, ...(fromStart ? { limit: from + size + 1 } : { offset: from, limit: size + 1 }) }, signal),
      );
      const found = fromStart ? answer.slice(from) : answer;
      return {
        source: setting.name,
        offset: from,
        more: found.length > size,
        studies: found.slice(0, size).map(
          (s): DicomwebStudy => ({
            studyInstanceUid: s.studyInstanceUid,
            ...(s.patientName ? { patientName: s.patientName } : {}),
            ...(s.patientId ? { patientId: s.patientId } : {}),
            ...(s.studyDate ? { studyDate: isoDate(s.studyDate) } : {}),
            ...(s.accessionNumber ? { accessionNumber: s.accessionNumber } : {}),
            ...(s.description ? { description: s.description } : {}),
            modalities: s.modalities.filter((m) => m !== ''),
            ...(s.seriesCount !== undefined ? { seriesCount: s.seriesCount } : {}),
          }),
        ),
      };
    },
    listSeries: async (source, study, signal) => {
      const { setting, client } = find(source);
      if (!/^[0-9.]{1,128}$/.test(study)) throw badQuery(`"${study.slice(0, 80)}" is not a Study Instance UID.`);
      // Every series, so the user sees the study as it is; only slide microscopy (SM) opens.
      const series = await inWords(setting, `study ${study}`, () => client.searchSeries(study, { modality: '' }, signal));
      return series
        .map(
          (s): DicomwebSeries => ({
            uri: dicomwebSeriesUri(setting.name, study, s.seriesInstanceUid),
            studyInstanceUid: study,
            seriesInstanceUid: s.seriesInstanceUid,
            ...(s.modality ? { modality: s.modality } : {}),
            ...(s.description ? { description: s.description } : {}),
            ...(s.instanceCount !== undefined ? { instanceCount: s.instanceCount } : {}),
            slide: s.modality === 'SM',
          }),
        )
        .sort((a, b) => Number(b.slide) - Number(a.slide));
    },
  };
}

function badQuery(message: string): AppError {
  return appErrors.make('DICOMWEB_BAD_QUERY', message, { hint: 'Correct the search and try again.' });
}

/** Free text → QIDO matching a person expects: names match anywhere, IDs exactly unless they hold * or ?. */
export function studyQuery(q: DicomwebStudyQuery): StudyQuery {
  const out: StudyQuery = {};
  const term = (v: string | undefined, what: string): string | undefined => {
    const t = v?.trim();
    if (!t) return undefined;
    if (t.length > MAX_TERM) throw badQuery(`The ${what} is longer than DICOM allows (${MAX_TERM} characters).`);
    // A backslash separates values in DICOM: a search for several values at once is not meant here.
    if (t.includes('\\') || [...t].some((ch) => ch.charCodeAt(0) < 0x20)) throw badQuery(`The ${what} contains a character DICOM does not allow in a search.`);
    return t;
  };
  const name = term(q.patientName, 'patient name');
  if (name) {
    // "smith john" and "smith, john" mean the DICOM PN "SMITH^JOHN": components joined by ^.
    const pn = name.replace(/\s*,\s*|\s+/g, '^');
    out.patientName = /[*?]/.test(pn) ? pn : `*${pn}*`;
  }
  const id = term(q.patientId, 'patient ID');
  if (id) out.patientId = id;
  const acc = term(q.accessionNumber, 'accession number');
  if (acc) out.accessionNumber = acc;
  const from = dateOf(q.studyDateFrom, 'first study date');
  const to = dateOf(q.studyDateTo, 'last study date');
  if (from && to && from > to) throw badQuery('The first study date is after the last one.');
  if (from || to) out.studyDate = from && to && from === to ? from : `${from ?? ''}-${to ?? ''}`;
  return out;
}

function dateOf(v: string | undefined, what: string): string | undefined {
  const t = v?.trim();
  if (!t) return undefined;
  const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(t);
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
  if (!m || !d || d.getUTCMonth() !== Number(m[2]) - 1 || d.getUTCDate() !== Number(m[3])) throw badQuery(`The ${what} "${t.slice(0, 20)}" is not a date (YYYY-MM-DD).`);
  return `${m[1]}${m[2]}${m[3]}`;
}

/** DICOM DA (YYYYMMDD) → ISO date; anything else as the archive wrote it. */
function isoDate(da: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(da.trim());
  return m ? `${m[1]}-${m[2]}-${m[3]}` : da;
}

/** The client's errors, said with the archive's name and what was asked. */
async function inWords<T>(setting: DicomwebSetting, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const e = toAppError(err);
    const label = labelOf(setting);
    const details = { ...e.details, archive: setting.name };
    const reason = typeof e.details?.['reason'] === 'string' ? ` (${e.details['reason']})` : '';
    switch (e.code) {
      case 'DICOMWEB_UNAUTHORIZED':
        return fail('DICOMWEB_UNAUTHORIZED', `Your session with the image archive “${label}” has expired or was not accepted${reason}.`, e, details, 'Sign in again. If it keeps happening right after signing in, tell IT: the archive may expect tokens for another audience or issuer.');
      case 'DICOMWEB_ACCESS_DENIED':
        return fail('DICOMWEB_ACCESS_DENIED', `The image archive “${label}” refused access to ${what} for your account.`, e, details, 'Ask IT for access to this archive if you need it.');
      case 'DICOMWEB_UNREACHABLE':
      case 'DICOMWEB_SERVER_ERROR':
        return fail(e.code, `The image archive “${label}” cannot be reached right now.`, e, details, e.hint ?? 'Check the network connection and try again; if it persists, tell IT.', true);
      case 'DICOMWEB_NOT_FOUND':
        return fail('DICOMWEB_NOT_FOUND', `The image archive “${label}” does not have ${what} (it may have been deleted or moved).`, e, details);
      default:
        throw e;
    }
  }
}

function fail(code: DicomwebErrorCode, message: string, cause: AppError, details: Record<string, unknown>, hint?: string, retryable = cause.retryable): never {
  throw dicomwebErrors.make(code, message, { cause, details, retryable, ...(hint ? { hint } : {}) });
}
