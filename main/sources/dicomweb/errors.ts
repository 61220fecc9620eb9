/** The DICOMweb client's error table (QIDO-RS searches, WADO-RS metadata and frames). */
import { errorTable } from '../../common/errors.js';

export const dicomwebErrors = errorTable('sources/dicomweb', {
  DICOMWEB_UNAUTHORIZED: {
    kind: 'signin-needed',
    message: 'Your session with the image archive has expired or was not accepted.',
    hint: 'Sign in again. If it keeps happening right after signing in, tell IT: the archive may expect tokens for another audience or issuer.',
  },
  DICOMWEB_TOKEN_TOO_OLD: {
    kind: 'signin-needed',
    message: 'The identity provider keeps handing out access tokens issued more than 12 hours ago, which the image archive refuses.',
    hint: 'Sign out and sign in again. IT: let the identity provider issue fresh access tokens on refresh (a new iat).',
  },
  DICOMWEB_ACCESS_DENIED: {
    kind: 'denied',
    message: 'The image archive refused access for your account.',
    hint: 'Ask IT for access to this archive or study.',
  },
  DICOMWEB_UNREACHABLE: {
    kind: 'unreachable',
    message: 'The image archive cannot be reached.',
    hint: 'Check the network connection and the archive address in the settings.',
  },
  DICOMWEB_SERVER_ERROR: {
    kind: 'busy',
    message: 'The image archive is busy or failing and did not answer.',
    hint: 'Try again in a moment; if it persists, tell IT.',
  },
  DICOMWEB_NOT_FOUND: {
    kind: 'not-found',
    message: 'The image archive does not have this study, series, instance or frame (it may have been deleted or moved).',
    hint: 'Refresh the list of studies.',
  },
  DICOMWEB_BAD_RESPONSE: {
    kind: 'invalid-input',
    message: 'The image archive sent an answer the workstation cannot read.',
    hint: 'The archive may not support multipart frame retrieval (WADO-RS). Report this to IT with the archive product and version.',
  },
  DICOMWEB_REQUEST_FAILED: {
    kind: 'invalid-input',
    message: 'The image archive refused the request.',
    hint: 'Try again; if it keeps failing, tell IT and quote the message.',
  },
});
export type DicomwebErrorCode = keyof typeof dicomwebErrors.entries;
