/**
 * Slide addresses for DICOMweb series: `dicomweb://<archive>/studies/<StudyUID>/series/<SeriesUID>`,
 * where <archive> is the `name` of an entry in the settings' `storage.dicomweb`. The
 * address names the archive by its settings name, never by URL, so a moved archive (new
 * URL, same name) keeps its cached and offline slides, and no address carries a host a
 * page could point elsewhere.
 *
 * Error code: SOURCE_BAD_URI.
 */
import { sourceErrors } from '../errors.js';

export interface DicomwebAddress {
  /** The archive's settings name, as written in the address. */
  archive: string;
  study: string;
  series: string;
}

// A UID is dot-separated numbers (PS3.5 §9.1): never "..", which would climb the archive's path.
const UID = '(?=[0-9.]{1,128}(?:/|$))[0-9]+(?:\\.[0-9]+)*';
const PATTERN = new RegExp(`^dicomweb://([^/?#]+)/studies/(${UID})/series/(${UID})/?$`, 'i');

export function isDicomwebUri(uri: string): boolean {
  return /^dicomweb:\/\//i.test(uri);
}

export function parseDicomwebUri(uri: string): DicomwebAddress {
  const m = PATTERN.exec(uri);
  let archive: string | undefined;
  try {
    archive = m ? decodeURIComponent(m[1]!) : undefined;
  } catch {
    archive = undefined;
  }
  if (!m || !archive) {
    throw sourceErrors.make('SOURCE_BAD_URI', `"${uri.slice(0, 200)}" is not a DICOMweb series address.`, {
      hint: 'A DICOMweb slide address looks like dicomweb://<archive name>/studies/<Study Instance UID>/series/<Series Instance UID>.',
    });
  }
  return { archive, study: m[2]!, series: m[3]! };
}

export function dicomwebSeriesUri(archive: string, study: string, series: string): string {
  return `dicomweb://${encodeURIComponent(archive)}/studies/${study}/series/${series}`;
}
