/**
 * A lock between processes on one computer (the app, the headless host and CLI commands on
 * one data folder), as a folder: it is created complete with its owner (a temporary folder
 * holding `owner` is renamed into place, which is atomic and fails when the lock exists),
 * so a lock is never seen without its owner. A lock is stale only when its owner process is
 * gone: a slow owner (a sign-in waiting for the browser, a refresh on a slow link) keeps it,
 * and no age makes another process take it over.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface LockOwner {
  pid: number;
  host: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOwner(dir: string): Promise<LockOwner | undefined> {
  const raw = await readFile(join(dir, 'owner'), 'utf8').catch(() => '');
  const [pid, ...host] = raw.trim().split(' ');
  const n = Number(pid);
  return Number.isInteger(n) && n > 0 ? { pid: n, host: host.join(' ') } : undefined;
}

/** Gone for sure: same computer and no such process. A lock from another computer (a shared home folder) is never judged. */
function gone(o: LockOwner | undefined): boolean {
  if (!o) return true;
  // An owner file without a host is from an older version, written on this computer.
  return (o.host === '' || o.host === hostname()) && !alive(o.pid);
}

const HELD = new Set(['EEXIST', 'ENOTEMPTY', 'EPERM', 'EACCES', 'EBUSY']);

/** Take the lock once: a release function, or the current owner when someone else holds it. */
export async function tryLock(lock: string): Promise<{ release: () => Promise<void> } | { owner: LockOwner | undefined }> {
  await mkdir(dirname(lock), { recursive: true, mode: 0o700 });
  const tmp = `${lock}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await mkdir(tmp, { mode: 0o700 });
  await writeFile(join(tmp, 'owner'), `${process.pid} ${hostname()}`);
  try {
    await rename(tmp, lock);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    if (!HELD.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    const owner = await readOwner(lock);
    if (gone(owner)) {
      // Move it aside and check it is still the dead owner's (another waiter may have
      // replaced it meanwhile); a live one goes back.
      const tomb = `${lock}.${randomBytes(4).toString('hex')}.stale`;
      if (await rename(lock, tomb).then(() => true, () => false)) {
        const moved = await readOwner(tomb);
        if (moved && owner && (moved.pid !== owner.pid || moved.host !== owner.host)) await rename(tomb, lock).catch(() => undefined);
        await rm(tomb, { recursive: true, force: true });
      }
      return tryLock(lock);
    }
    return { owner };
  }
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      await rm(lock, { recursive: true, force: true });
    },
  };
}

/**
 * Wait for the lock (polling: no portable file-change event covers every OS and network
 * folder) until `timeoutMs`; then `onTimeout(owner)` says what to throw.
 */
export async function acquireLock(lock: string, o: { timeoutMs: number; onTimeout: (owner: LockOwner | undefined) => Error }): Promise<() => Promise<void>> {
  const deadline = Date.now() + o.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const got = await tryLock(lock);
    if ('release' in got) return got.release;
    if (Date.now() > deadline) throw o.onTimeout(got.owner);
    await new Promise((r) => setTimeout(r, Math.min(250, 20 + attempt * 10)));
  }
}
