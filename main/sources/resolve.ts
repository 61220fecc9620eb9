/**
 * One entry point from a slide address to where its data lives: a RangeReader for a local
 * path, file://, s3:// or http(s)://, and a FrameSource for a DICOMweb series
 * (`dicomweb://<archive>/studies/<uid>/series/<uid>`, <archive> being the `name` of an
 * entry in `storage.dicomweb`). The CLI, the API handlers and the tile service use it, so
 * "where a slide lives" is decided in one place.
 *
 * The seam with the app's composition root: `ResolveOptions.dicomweb(name)` hands out the
 * DicomwebClient for a configured archive (with the signed-in user's token source, one
 * client per archive, built in main/app/). Without it an archive is read without a token
 * (an open archive, or a CLI run that has none).
 *
 * Error codes: SOURCE_BAD_URI, SOURCE_UNKNOWN_ARCHIVE, SOURCE_NOT_A_FILE.
 */
import { fileURLToPath } from 'node:url';
import type { Settings } from '../config/index.js';
import type { CredentialProvider } from '../credentials/types.js';
import { parseDicomwebUri } from './dicomweb/address.js';
import { DicomwebClient } from './dicomweb/client.js';
import { DicomwebSeriesSource } from './dicomweb/series-source.js';
import { FileRangeReader } from './file.js';
import { HttpRangeReader } from './http.js';
import { S3Client } from './s3.js';
import type { FetchLike, FrameSource, RangeReader } from './types.js';
import { authErrors } from '../auth/errors.js';
import { sourceErrors } from './errors.js';

export interface ResolveOptions {
  /** `storage.dicomweb` may be left out by callers that read no DICOMweb (S3-only tools and tests). */
  settings: { storage: Omit<Settings['storage'], 'dicomweb'> & Partial<Pick<Settings['storage'], 'dicomweb'>> };
  /** Needed for s3:// only. */
  credentials?: CredentialProvider;
  fetch?: FetchLike;
  /** Reuse one client (and its connections) across readers. */
  s3?: S3Client;
  /**
   * The client for a configured DICOMweb archive, by its settings name (already checked
   * to be in `storage.dicomweb`). The app builds one per archive with the user's token.
   */
  dicomweb?: (archive: string) => DicomwebClient;
}

export type SourceKind = 'file' | 's3' | 'http' | 'dicomweb';

export function sourceKind(uri: string): SourceKind {
  if (/^s3:\/\//i.test(uri)) return 's3';
  if (/^dicomweb:\/\//i.test(uri)) return 'dicomweb';
  if (/^https?:\/\//i.test(uri)) return 'http';
  if (/^file:\/\//i.test(uri)) return 'file';
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(uri)) {
    throw sourceErrors.make('SOURCE_BAD_URI', `The address "${uri}" uses a kind of storage the workstation does not know.`, {
      hint: 'Use a local path, file://, s3://bucket/key, https:// or dicomweb://<archive>/studies/<uid>/series/<uid>.',
    });
  }
  return 'file';
}

export function s3ClientFor(o: ResolveOptions): S3Client {
  if (o.s3) return o.s3;
  if (!o.credentials) {
    throw authErrors.make('AUTH_NOT_SIGNED_IN', 'You are not signed in, so storage cannot be read.', { hint: 'Sign in first (slide-workstation login).' });
  }
  const s3 = o.settings.storage.s3;
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    credentials: o.credentials,
    ...(o.fetch ? { fetch: o.fetch } : {}),
  });
}

/** A RangeReader or, for a DICOMweb series, a FrameSource: what the tile service opens. */
export function resolveSource(uri: string, o: ResolveOptions): RangeReader | FrameSource {
  return sourceKind(uri) === 'dicomweb' ? resolveDicomweb(uri, o) : resolveReader(uri, o);
}

export function resolveDicomweb(uri: string, o: ResolveOptions): DicomwebSeriesSource {
  const address = parseDicomwebUri(uri);
  const archives = o.settings.storage.dicomweb ?? [];
  // Names are host-like and unique regardless of case (main/config/schema.ts).
  const entry = archives.find((a) => a.name.toLowerCase() === address.archive.toLowerCase());
  if (!entry) {
    throw sourceErrors.make('SOURCE_UNKNOWN_ARCHIVE', `The image archive "${address.archive}" is not in this workstation's settings.`, {
      hint: archives.length
        ? `Known archives: ${archives.map((a) => a.name).join(', ')}. Ask the IT administrator whether it was renamed or removed.`
        : 'No DICOMweb archive is configured (storage.dicomweb). Ask the IT administrator to add it.',
      details: { archive: address.archive },
    });
  }
  const client = o.dicomweb ? o.dicomweb(entry.name) : new DicomwebClient({ root: entry.url, ...(o.fetch ? { fetch: o.fetch } : {}) });
  return new DicomwebSeriesSource({ client, archive: entry.name, study: address.study, series: address.series });
}

export function resolveReader(uri: string, o: ResolveOptions): RangeReader {
  switch (sourceKind(uri)) {
    case 'dicomweb':
      throw sourceErrors.make('SOURCE_NOT_A_FILE', `"${uri.slice(0, 200)}" is a DICOMweb series, which is read frame by frame, not as one file.`, {
        hint: 'Open it as a slide (the viewer, or the tile commands: region, pin); file-level commands do not apply to DICOMweb series.',
      });
    case 's3':
      return s3ClientFor(o).rangeReader(uri);
    case 'http':
      return new HttpRangeReader(uri, o.fetch ? { fetch: o.fetch } : {});
    case 'file':
      return new FileRangeReader(/^file:/i.test(uri) ? fileURLToPath(uri) : uri);
  }
}
