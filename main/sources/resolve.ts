/**
 * One entry point from a slide address to a RangeReader: a local path, file://, s3://
 * or http(s)://. The CLI, the API handlers and the tile service use it, so "where a slide
 * lives" is decided in one place.
 */
import { fileURLToPath } from 'node:url';
import { AppError } from '../common/errors.js';
import type { Settings } from '../config/index.js';
import type { CredentialProvider } from '../credentials/types.js';
import { FileRangeReader } from './file.js';
import { HttpRangeReader } from './http.js';
import { S3Client } from './s3.js';
import type { FetchLike, RangeReader } from './types.js';

export interface ResolveOptions {
  settings: Pick<Settings, 'storage'>;
  /** Needed for s3:// only. */
  credentials?: CredentialProvider;
  fetch?: FetchLike;
  /** Reuse one client (and its connections) across readers. */
  s3?: S3Client;
}

export type SourceKind = 'file' | 's3' | 'http';

export function sourceKind(uri: string): SourceKind {
  if (/^s3:\/\//i.test(uri)) return 's3';
  if (/^https?:\/\//i.test(uri)) return 'http';
  if (/^file:\/\//i.test(uri)) return 'file';
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(uri)) {
    throw new AppError('SOURCE_BAD_URI', `The address "${uri}" uses a kind of storage the workstation does not know.`, {
      hint: 'Use a local path, file://, s3://bucket/key or https://.',
    });
  }
  return 'file';
}

export function s3ClientFor(o: ResolveOptions): S3Client {
  if (o.s3) return o.s3;
  if (!o.credentials) {
    throw new AppError('AUTH_NOT_SIGNED_IN', 'You are not signed in, so storage cannot be read.', { hint: 'Sign in first (slide-workstation login).' });
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

export function resolveReader(uri: string, o: ResolveOptions): RangeReader {
  switch (sourceKind(uri)) {
    case 's3':
      return s3ClientFor(o).rangeReader(uri);
    case 'http':
      return new HttpRangeReader(uri, o.fetch ? { fetch: o.fetch } : {});
    case 'file':
      return new FileRangeReader(/^file:/i.test(uri) ? fileURLToPath(uri) : uri);
  }
}
