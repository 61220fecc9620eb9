/**
 * The one check every renderer call that names a slide address goes through (slides.open,
 * pins.add, storage.list, and the coming annotation and analysis calls; region, associated
 * images and hints name an open slide by its id, so they were checked when it was opened).
 * A compromised page must not turn main into a proxy that fetches, with the user's
 * credentials, whatever it names:
 *
 * - `s3://bucket/key` only for a bucket in `storage.s3.buckets`, the bucket valid by S3's
 *   naming rules (so `s3://2130706433#/x` cannot become a signed request to 127.0.0.1);
 *   the S3 client checks the built URL's host against the endpoint as well (sources/s3.ts).
 * - `dicomweb://<archive>/studies/…/series/…` only for an archive in `storage.dicomweb`.
 * - `file://` only for a file the user picked in main's own dialog during this sign-in.
 * - Plain paths, `http(s)://` and anything else are refused here. The CLI does not call
 *   this: a user at a shell may name any path or URL (main/sources/resolve.ts).
 *
 * Error codes: see ADDRESS_ERRORS.
 */
import { pathToFileURL } from 'node:url';
import { errorTable } from '../common/errors.js';
import { isDicomwebUri, parseDicomwebUri } from '../sources/dicomweb/address.js';
import { bucketNameProblem } from '../sources/s3.js';

export const ADDRESS_ERRORS = errorTable('address', {
  ADDRESS_NOT_ALLOWED: {
    kind: 'denied',
    message: 'The workstation opens only slides in the storage locations it is set up for.',
    hint: 'Open the slide from the storage browser. If it lives somewhere else, ask the IT administrator to add that location to the settings.',
  },
  ADDRESS_BAD_BUCKET: {
    kind: 'invalid-input',
    message: 'This storage address does not name a valid S3 bucket.',
    hint: 'Open the slide from the storage browser; bucket names are 3–63 lowercase letters, digits, dots and hyphens.',
  },
  ADDRESS_UNKNOWN_BUCKET: {
    kind: 'denied',
    message: 'This bucket is not one of the storage locations the workstation is set up for.',
    hint: 'Open the slide from the storage browser, or ask the IT administrator to add the bucket to storage.s3.buckets.',
  },
  ADDRESS_UNKNOWN_ARCHIVE: {
    kind: 'denied',
    message: 'This image archive is not one the workstation is set up for.',
    hint: 'Open the series from the storage browser, or ask the IT administrator to add the archive to storage.dicomweb.',
  },
  ADDRESS_BAD_SERIES: {
    kind: 'invalid-input',
    message: 'This is not a DICOMweb series address.',
    hint: 'Open a series from the storage browser.',
  },
  ADDRESS_LOCAL_NOT_CHOSEN: {
    kind: 'denied',
    message: 'This file on your computer can only be opened by choosing it again.',
    hint: 'Use “Open local slide…”: the workstation opens files from this computer only when you pick them.',
  },
});

export type AddressKind = 's3' | 'dicomweb' | 'file';

export interface CheckedAddress {
  kind: AddressKind;
  uri: string;
}

export interface AddressCheckOptions {
  /** Bucket names of `storage.s3.buckets` (read each time: settings may be reloaded). */
  buckets: () => readonly string[];
  /** Archive names of `storage.dicomweb`. */
  archives: () => readonly string[];
}

/** What the renderer may name. One instance per app; the chosen files are forgotten at sign-out. */
export class AddressCheck {
  readonly #o: AddressCheckOptions;
  /** file:// addresses the user picked in main's dialog during this sign-in. */
  #local = new Set<string>();

  constructor(o: AddressCheckOptions) {
    this.#o = o;
  }

  /** A file the user chose in main's file dialog: from now on it may be named by its file:// address. */
  allowLocal(path: string): string {
    const uri = pathToFileURL(path).href;
    this.#local.add(uri);
    return uri;
  }

  /** Sign-out and user change: the next user picks their own files. */
  forgetLocal(): void {
    this.#local.clear();
  }

  /**
   * Refuses, with a typed error and before anything is fetched, an address the renderer
   * may not name. `folder` accepts `s3://bucket/` and prefixes (storage.list).
   */
  check(uri: string, o: { folder?: boolean } = {}): CheckedAddress {
    const shown = uri.slice(0, 200);
    if (/^s3:\/\//i.test(uri)) {
      const m = /^s3:\/\/([^/]*)(\/.*)?$/i.exec(uri);
      const bucket = m?.[1] ?? '';
      const key = (m?.[2] ?? '').slice(1);
      const problem = bucketNameProblem(bucket);
      if (problem) throw ADDRESS_ERRORS.make('ADDRESS_BAD_BUCKET', { details: { uri: shown, problem } });
      if (!this.#o.buckets().includes(bucket)) throw ADDRESS_ERRORS.make('ADDRESS_UNKNOWN_BUCKET', { details: { uri: shown, bucket } });
      if (!o.folder && (key === '' || key.endsWith('/'))) {
        throw ADDRESS_ERRORS.make('ADDRESS_NOT_ALLOWED', { message: `“${shown}” is a folder, not a slide.`, details: { uri: shown } });
      }
      return { kind: 's3', uri };
    }
    if (isDicomwebUri(uri)) {
      let archive: string;
      try {
        archive = parseDicomwebUri(uri).archive;
      } catch (cause) {
        throw ADDRESS_ERRORS.make('ADDRESS_BAD_SERIES', { cause, details: { uri: shown } });
      }
      // Archive names are unique regardless of case (main/config/schema.ts).
      if (!this.#o.archives().some((a) => a.toLowerCase() === archive.toLowerCase())) {
        throw ADDRESS_ERRORS.make('ADDRESS_UNKNOWN_ARCHIVE', { details: { uri: shown, archive } });
      }
      return { kind: 'dicomweb', uri };
    }
    if (/^file:/i.test(uri)) {
      if (!this.#local.has(uri)) throw ADDRESS_ERRORS.make('ADDRESS_LOCAL_NOT_CHOSEN', { details: { uri: shown } });
      return { kind: 'file', uri };
    }
    // Plain paths, http(s):// (an internal URL main could be made to fetch) and other schemes.
    throw ADDRESS_ERRORS.make('ADDRESS_NOT_ALLOWED', { message: `“${shown}” is not a slide in the workstation's storage.`, details: { uri: shown } });
  }
}
