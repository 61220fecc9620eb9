/**
 * One CLI process at a time on the saved sign-in. The refresh token rotates on every use
 * and providers revoke the whole sign-in when a used one is presented again (reuse
 * detection), so two processes restoring the same token at once (aws-cli running
 * `credential_process` in parallel, rclone) would sign the user out. Processes take turns
 * through a lock folder next to the secrets: mkdir is atomic on every OS, and the owner's
 * pid lets a lock left by a killed process be taken over.
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cliErrors } from './errors.js';

const STALE_MS = 10 * 60_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquireSessionLock(dataDir: string, o: { timeoutMs?: number } = {}): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const lock = join(dataDir, 'cli-session.lock');
  const deadline = Date.now() + (o.timeoutMs ?? 120_000);
  for (let attempt = 0; ; attempt++) {
    try {
      await mkdir(lock);
      await writeFile(join(lock, 'owner'), String(process.pid));
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        await rm(lock, { recursive: true, force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number(await readFile(join(lock, 'owner'), 'utf8').catch(() => ''));
    const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
    // No owner file yet: the other process is between mkdir and writeFile, unless that was long ago.
    if ((owner > 0 && !alive(owner)) || (!(owner > 0) && age > 5_000) || age > STALE_MS) {
      await rm(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw cliErrors.make('CLI_SESSION_BUSY', 'Another slide-workstation command is using your sign-in and did not finish.', {
        hint: `Wait for it (a "login" waits for the browser) or stop it${owner > 0 ? ` (process ${owner})` : ''}, then try again.`,
      });
    }
    await new Promise((r) => setTimeout(r, Math.min(250, 20 + attempt * 10)));
  }
}
