/**
 * One Keycloak server for a whole test pass (scripts/test.mjs keycloak): started here,
 * announced as one JSON line on stdout ({url, admin, startupMs}), stopped when stdin
 * closes or on SIGTERM/SIGINT. The test files reach it through WSI_KEYCLOAK_URL and
 * WSI_KEYCLOAK_ADMIN and import realms of their own into it.
 */
import { isAppError } from '../../main/common/errors.js';
import { startKeycloak } from './keycloak.js';

try {
  const kc = await startKeycloak();
  const stop = (): void => {
    void kc.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify({ url: kc.url, admin: `${kc.admin.username}:${kc.admin.password}`, startupMs: kc.startupMs })}\n`);
} catch (err) {
  process.stderr.write(isAppError(err) ? `keycloak: cannot start [${err.code}]: ${err.message}\n${err.hint ? `  ${err.hint}\n` : ''}` : `keycloak: cannot start: ${String(err)}\n`);
  process.exit(1);
}
