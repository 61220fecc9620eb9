/**
 * The API's error table: a call the main process cannot take, and the transport's own
 * failures that the renderer reports (APP_*: main did not answer at all).
 */
import { errorTable } from '../common/errors.js';

export const apiErrors = errorTable('api', {
  API_BAD_PARAMS: {
    kind: 'invalid-input',
    message: 'The app sent a malformed request.',
    hint: 'Reload the window; if it persists, report a bug.',
  },
  API_UNKNOWN_METHOD: {
    kind: 'unsupported',
    message: 'The app asked for something this version does not know.',
    hint: 'Reload the window; if it persists, the window and the app are of different versions: restart the app.',
  },
  API_REFUSED: {
    kind: 'denied',
    message: 'The workstation refused a request that did not come from its own window.',
    hint: 'Reload the window. If it keeps happening, tell IT: something else may be talking to the app.',
  },
  APP_TRANSPORT: {
    kind: 'unreachable',
    message: 'The workstation is not running.',
    hint: 'Start it again.',
  },
  APP_SESSION_LOST: {
    kind: 'unreachable',
    message: 'The workstation is not answering.',
    hint: 'Reload the window; if it persists, restart the app.',
  },
  APP_UNEXPECTED: {
    kind: 'internal',
    message: 'The window got an answer it did not expect.',
    hint: 'Reload the window; if it persists, send the log file to IT.',
  },
});
