/** The app-level services' error table: opening slides, pins and the offline state, settings, archives. */
import { errorTable } from '../common/errors.js';

export const appErrors = errorTable('app', {
  SLIDE_BAD_ADDRESS: {
    kind: 'invalid-input',
    message: 'This is not a slide address the workstation can open.',
    hint: 'Open a slide from the storage browser.',
  },
  SLIDE_LOCAL_NOT_CHOSEN: {
    kind: 'denied',
    message: 'This file on your computer can only be opened by choosing it again.',
    hint: 'Use “Open local slide…”: the workstation opens files from this computer only when you pick them.',
  },
  SLIDE_NOT_AVAILABLE_OFFLINE: {
    kind: 'unreachable',
    message: 'This slide is not available offline: storage cannot be reached and this computer holds no copy of it.',
    hint: 'Open it again when the network is back. To read a slide without a network, make it available offline beforehand.',
  },
  PIN_BAD_LEVEL: {
    kind: 'invalid-input',
    message: 'The chosen resolution is not one of the slide’s levels.',
    hint: 'Choose one of the resolutions offered.',
  },
  PIN_NOT_FOUND: {
    kind: 'not-found',
    message: 'This slide is not marked available offline.',
    hint: 'Refresh the list of offline slides.',
  },
  SETTINGS_LOCKED: {
    kind: 'denied',
    message: 'This setting is set by your organisation and cannot be changed here.',
    hint: 'Ask IT if it needs to change.',
  },
  SETTINGS_INVALID: {
    kind: 'invalid-input',
    message: 'This value is not allowed for the setting.',
    hint: 'Choose a value within the range shown.',
  },
  SETTINGS_WRITE_FAILED: {
    kind: 'denied',
    message: 'The setting could not be saved; it applies until the app is closed.',
    hint: 'Check that the settings folder is writable.',
  },
  DICOMWEB_UNKNOWN_SOURCE: {
    kind: 'not-found',
    message: "The image archive is not in this workstation's settings.",
    hint: 'Ask IT to add it (storage.dicomweb), or choose one of the archives listed.',
  },
  DICOMWEB_BAD_QUERY: {
    kind: 'invalid-input',
    message: 'This search cannot be run.',
    hint: 'Correct the search and try again.',
  },
  APP_NO_FILE_DIALOG: {
    kind: 'unsupported',
    message: 'Opening a slide from this computer needs the desktop app.',
    hint: 'This window is the headless host, which has no file dialog: start the app, or put the slide in storage.',
  },
  SHELL_EXTERNAL_REFUSED: {
    kind: 'denied',
    message: 'The app refused to open a link that does not belong to the sign-in service.',
    hint: 'IT: check auth.issuer in the settings.',
  },
});
