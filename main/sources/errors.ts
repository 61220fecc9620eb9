/**
 * The storage-reading error table (S3, plain HTTP(S), local files; DICOMweb has its own
 * in ./dicomweb/errors.ts). The kind decides what the app does: `busy` (503, SlowDown,
 * 429) is retried with backoff and never turns the app offline; `unreachable` does.
 */
import { errorTable } from '../common/errors.js';

export const sourceErrors = errorTable('sources', {
  SOURCE_BAD_URI: {
    kind: 'invalid-input',
    message: 'This is not a slide address the workstation can read.',
    hint: 'Use s3://bucket/folder/slide.svs, a file from this computer, https:// or dicomweb://<archive>/studies/<uid>/series/<uid>.',
  },
  SOURCE_NOT_A_FILE: {
    kind: 'invalid-input',
    message: 'This address is a folder, not a slide file.',
    hint: 'Open a slide file inside it.',
  },
  SOURCE_UNKNOWN_ARCHIVE: {
    kind: 'not-found',
    message: "The image archive is not in this workstation's settings.",
    hint: 'Ask IT whether it was renamed or removed (storage.dicomweb).',
  },
  SOURCE_NOT_FOUND: {
    kind: 'not-found',
    message: 'Nothing was found at this address.',
    hint: 'It may have been moved or deleted; refresh the folder.',
  },
  SOURCE_ACCESS_DENIED: {
    kind: 'denied',
    message: 'You do not have access to this slide.',
    hint: 'Ask your administrator for access to the bucket or folder if you need it.',
  },
  SOURCE_CREDENTIALS_EXPIRED: {
    kind: 'signin-needed',
    message: 'Storage refused your access even after it was renewed.',
    hint: "Check that this computer's date and time are correct, then sign in again.",
  },
  SOURCE_UNAVAILABLE: {
    kind: 'busy',
    message: 'Storage is busy and asked the workstation to slow down.',
    hint: 'The workstation retries by itself; if it lasts, try again in a minute. IT: the storage service is throttling (503 SlowDown) or overloaded.',
  },
  SOURCE_UNREACHABLE: {
    kind: 'unreachable',
    message: 'Storage cannot be reached.',
    hint: 'Check the network connection (VPN, Wi-Fi); slides made available offline stay readable.',
  },
  SOURCE_CHANGED: {
    kind: 'conflict',
    message: 'The slide was replaced in storage while it was open.',
    hint: 'Close the slide and open it again to see the new version.',
  },
  SOURCE_BAD_RESPONSE: {
    kind: 'invalid-input',
    message: 'Storage answered in a way the workstation cannot read.',
    hint: 'IT: check that storage.s3.endpoint points at an S3-compatible service and not at a proxy page.',
  },
  SOURCE_NO_RANGE_SUPPORT: {
    kind: 'unsupported',
    message: 'The server holding this slide does not support partial downloads, and the file is too large to read whole.',
    hint: 'IT: the web server must answer HTTP Range requests (206 Partial Content) for slide files.',
  },
  SOURCE_HTTP_ERROR: {
    kind: 'internal',
    message: 'The server refused to send the slide.',
    hint: 'Try again; if it keeps failing, tell IT and quote the HTTP status shown in the details.',
  },
  SOURCE_S3_ERROR: {
    kind: 'internal',
    message: 'Storage refused the request.',
    hint: 'Try again; if it keeps failing, tell IT and quote the storage error code in the message.',
  },
  SOURCE_BAD_RANGE: {
    kind: 'internal',
    message: 'The workstation asked for an invalid part of the file.',
    hint: 'This is a bug: send the log file to IT.',
  },
  SOURCE_IO: {
    kind: 'internal',
    message: 'The file could not be read.',
    hint: 'Check that the disk or network share is still there, then try again.',
    retryable: true,
  },
  SOURCE_CLOSED: {
    kind: 'cancelled',
    message: 'The slide was closed while it was being read.',
  },
});
export type SourceErrorCode = keyof typeof sourceErrors.entries;
