/** The settings error table: a settings file that cannot be read or says something invalid. */
import { errorTable } from '../common/errors.js';

export const configErrors = errorTable('config', {
  CONFIG_UNREADABLE: {
    kind: 'invalid-input',
    message: 'A settings file cannot be read.',
    hint: 'Check that the file exists and is readable by this user; IT: check the policy file permissions.',
  },
  CONFIG_INVALID: {
    kind: 'invalid-input',
    message: 'The settings are not valid.',
    hint: 'Correct the keys named; see docs/configuration.md for every setting. The app will not guess what was meant.',
  },
  CONFIG_INSECURE_ENDPOINT: {
    kind: 'invalid-input',
    message: 'The settings name a storage or archive address without encryption (http://).',
    hint: 'IT: use the https:// address of the service. storage.allowInsecureEndpoints exists only for test environments on a closed network.',
  },
  CONFIG_NOT_SET_UP: {
    kind: 'invalid-input',
    message: 'No sign-in service is configured.',
    hint: 'Pass --config FILE, or ask IT for the settings file.',
  },
});
