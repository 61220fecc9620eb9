/**
 * The other objects of a DICOM series: scanners and converters write one file per level
 * (and per label, overview), side by side in one folder or S3 prefix, and the slide is
 * the series, not the file that was clicked. The DICOM reader (main/formats/dicom) opens
 * these siblings in parallel and keeps those of the same series; this module only finds
 * them, for the app's tile service and the CLI alike.
 */
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseS3Uri, type S3Client } from './s3.js';
import { sourceKind } from './resolve.js';
import type { RangeReader } from './types.js';

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
  if (!/\.dcm$/i.test(uri)) return undefined;
  return async () => {
    const kind = sourceKind(uri);
    if (kind === 's3' && o.s3) {
      const { bucket, key } = parseS3Uri(uri);
      const folder = key.slice(0, key.lastIndexOf('/') + 1);
      const listing = await (await o.s3()).list(`s3://${bucket}/${folder}`);
      const others = listing.entries.filter((e) => e.kind === 'file' && /\.dcm$/i.test(e.name) && e.uri !== uri).slice(0, MAX_SIBLINGS);
      return Promise.all(others.map((e) => o.reader(e.uri)));
    }
    if (kind === 'file') {
      const path = /^file:/i.test(uri) ? fileURLToPath(uri) : uri;
      const names = (await readdir(dirname(path))).filter((n) => /\.dcm$/i.test(n) && join(dirname(path), n) !== path).slice(0, MAX_SIBLINGS);
      return Promise.all(names.map((n) => o.reader(join(dirname(path), n))));
    }
    return [];
  };
}

/** As an open option: `{ siblings }` for a DICOM file, nothing otherwise. */
export function siblingsOption(uri: string, o: SiblingOptions): { siblings?: () => Promise<RangeReader[]> } {
  const siblings = dicomSiblings(uri, o);
  return siblings ? { siblings } : {};
}
