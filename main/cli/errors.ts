/** The command line's own error table: wrong arguments, and a sign-in used by another command. */
import { errorTable } from '../common/errors.js';

export const cliErrors = errorTable('cli', {
  CLI_USAGE: {
    kind: 'invalid-input',
    message: 'The command line is not valid.',
    hint: 'Run `slide-workstation help` for the commands and their options.',
  },
  CLI_SESSION_BUSY: {
    kind: 'conflict',
    message: 'Another slide-workstation command is using your sign-in and did not finish.',
    hint: 'Wait for it (a "login" waits for the browser) or stop it, then try again.',
  },
});
