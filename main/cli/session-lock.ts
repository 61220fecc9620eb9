/**
 * One CLI process at a time on the saved sign-in. The refresh token rotates on every use
 * and providers revoke the whole sign-in when a used one is presented again (reuse
 * detection), so two CLI processes restoring the same token at once (aws-cli running
 * `credential_process` in parallel, rclone) would sign the user out. Every host (the app,
 * the headless host and the CLI) also takes the refresh lock of main/auth around each use
 * of the token; this one keeps CLI commands from interleaving their whole runs. A lock is
 * stale only when its owner process is gone (main/common/process-lock.ts).
 */
import { join } from 'node:path';
import { acquireLock } from '../common/process-lock.js';
import { cliErrors } from './errors.js';

export async function acquireSessionLock(dataDir: string, o: { timeoutMs?: number } = {}): Promise<() => Promise<void>> {
  return acquireLock(join(dataDir, 'cli-session.lock'), {
    timeoutMs: o.timeoutMs ?? 120_000,
    onTimeout: (owner) =>
      cliErrors.make('CLI_SESSION_BUSY', 'Another slide-workstation command is using your sign-in and did not finish.', {
        hint: `Wait for it (a "login" waits for the browser) or stop it${owner ? ` (process ${owner.pid})` : ''}, then try again.`,
      }),
  });
}
