/**
 * The other objects of a DICOM series: scanners and converters write one file per level
 * (and per label, overview), side by side in one folder or S3 prefix, and the slide is
 * the series, not the file that was clicked. The DICOM reader (main/formats/dicom) opens
 * these siblings in parallel and keeps those of the same series; this module only finds
 * them, for the app's tile service and the CLI alike.
 */
import { readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileRangeReader } from './file.js';
import { parseS3Uri, type S3Client } from './s3.js';
import { sourceKind } from './resolve.js';
import type { RangeReader } from './types.js';

const isDicomName = (name: string): boolean => /\.dcm$/i.test(name);

/** More than a pyramid with its associated images ever has; a folder of many slides is cut here. */
export const MAX_SIBLINGS = 200;

export interface SiblingOptions {
  /** Lists the prefix (the signed-in user's client); absent: S3 siblings are not looked for. */
  s3?: () => Promise<S3Client>;
  /** A reader for a sibling's address, with the same credentials as the clicked file. */
  reader: (uri: string) => Promise<RangeReader> | RangeReader;
}

/** Undefined when the address is not a DICOM file (nothing to look for). */
export function dicomSiblings(uri: string, o: SiblingOptions): (() => Promise<RangeReader[]>) | undefined {
  if (!isDicomName(uri)) return undefined;
  return async () => {
    const kind = sourceKind(uri);
    if (kind === 's3' && o.s3) {
      const { bucket, key } = parseS3Uri(uri);
      const folder = key.slice(0, key.lastIndexOf('/') + 1);
      const listing = await (await o.s3()).list(`s3://${bucket}/${folder}`);
      const others = listing.entries.filter((e) => e.kind === 'file' && isDicomName(e.name) && e.uri !== uri).slice(0, MAX_SIBLINGS);
      return Promise.all(others.map((e) => o.reader(e.uri)));
    }
    if (kind === 'file') return localSiblings(/^file:/i.test(uri) ? fileURLToPath(uri) : uri, MAX_SIBLINGS, isDicomName)();
    return [];
  };
}


/** The other regular files in a local file's folder (those `keep` accepts), as readers. */
export function localSiblings(path: string, limit = 2000, keep: (name: string) => boolean = () => true): () => Promise<RangeReader[]> {
  return async () => {
    const dir = dirname(resolve(path));
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => e.isFile() && keep(e.name) && join(dir, e.name) !== resolve(path))
      .slice(0, limit)
      .map((e) => new FileRangeReader(join(dir, e.name)));
  };
}
