/**
 * Where the refresh token rests between runs. Preference order for headless and CLI:
 * the OS keyring through the maintained native binding @napi-rs/keyring (decision 1302),
 * used only when a probe write/read/delete round trip works; otherwise an owner-only
 * (0600) file in a 0700 folder. The Electron shell adds a safeStorage-backed store of its
 * own.
 */
import { createRequire } from 'node:module';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecretStoreKind } from '../common/api-types.js';
import { type AppError } from '../common/errors.js';
import { logger } from '../common/log.js';
import { authErrors } from './errors.js';

const log = logger('auth.secrets');
const SERVICE = 'slide-workstation';

export interface SecretStore {
  kind: SecretStoreKind;
  /** Said in the UI: where the refresh token rests. */
  description: string;
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
}

export const SECRETS_FILE_NAME = 'secrets.json';

/** An owner-only JSON file. Written to a temp file with mode 0600 and renamed, so a crash never leaves half a file. */
export class FileSecretStore implements SecretStore {
  readonly kind = 'file' as const;
  readonly description: string;
  readonly path: string;
  readonly #dir: string;
  // Serialise writers: two concurrent set() calls must not lose one another's keys.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(dir: string, why?: string) {
    this.#dir = dir;
    this.path = join(dir, SECRETS_FILE_NAME);
    this.description = `a file only your user account can read (${this.path})${why ? `; ${why}` : ''}`;
  }

  async #read(): Promise<Record<string, string>> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    try {
      const data = JSON.parse(text) as unknown;
      if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
        return Object.fromEntries(Object.entries(data).filter((e): e is [string, string] => typeof e[1] === 'string'));
      }
    } catch {
      // A damaged file holds nothing we can use; the next write replaces it.
    }
    log.warn('secrets file was unreadable and is ignored', { path: this.path });
    return {};
  }

  async #write(data: Record<string, string>): Promise<void> {
    if (Object.keys(data).length === 0) {
      await rm(this.path, { force: true });
      return;
    }
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(data), { mode: 0o600 });
    await chmod(tmp, 0o600); // umask or an existing tmp file could have left wider bits
    await rename(tmp, this.path);
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  get(key: string): Promise<string | undefined> {
    return this.#serial(async () => (await this.#read())[key]);
  }

  set(key: string, value: string): Promise<void> {
    return this.#serial(async () => {
      const data = await this.#read();
      data[key] = value;
      await this.#write(data);
    });
  }

  delete(key: string): Promise<void> {
    return this.#serial(async () => {
      const data = await this.#read();
      if (!(key in data)) {
        // Still make sure an empty or damaged file does not linger.
        if (Object.keys(data).length === 0) await rm(this.path, { force: true });
        return;
      }
      delete data[key];
      await this.#write(data);
    });
  }
}

/** In-memory only: for tests and for "do not remember me". */
export class MemorySecretStore implements SecretStore {
  readonly kind = 'memory' as const;
  readonly description = 'memory only (you will sign in again after a restart)';
  readonly #data = new Map<string, string>();
  async get(key: string): Promise<string | undefined> {
    return this.#data.get(key);
  }
  async set(key: string, value: string): Promise<void> {
    this.#data.set(key, value);
  }
  async delete(key: string): Promise<void> {
    this.#data.delete(key);
  }
}

interface KeyringBackend {
  description: string;
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
}

/** What @napi-rs/keyring's Entry offers (typed here so a failed load is an error, not a crash). */
interface NativeEntry {
  getPassword(): string | null | undefined;
  setPassword(password: string): void;
  deletePassword(): boolean;
}
type NativeEntryClass = new (service: string, account: string, options?: { linux?: { store?: 'secret-service' | 'keyutils' } }) => NativeEntry;

let nativeEntry: NativeEntryClass | undefined | null;
/** Loaded on first use: a missing native binary (an unusual platform) means "no keyring", not a crash. */
function loadNative(): NativeEntryClass | undefined {
  if (nativeEntry === undefined) {
    try {
      nativeEntry = (createRequire(import.meta.url)('@napi-rs/keyring') as { Entry: NativeEntryClass }).Entry;
    } catch (err) {
      log.info('the native keyring binding could not be loaded', { err: err instanceof Error ? err.message : String(err) });
      nativeEntry = null;
    }
  }
  return nativeEntry ?? undefined;
}

function keyringFailure(op: string, err: unknown): AppError {
  return authErrors.make('SECRETS_KEYRING_FAILED', `The system keyring could not ${op} the saved sign-in.`, {
    hint: 'Unlock the keyring (log out and in again), or ask IT to set secrets.store to "file".',
    cause: err,
    details: { reason: (err instanceof Error ? err.message : String(err)).slice(0, 300) },
  });
}

const DESCRIPTIONS: Partial<Record<NodeJS.Platform, string>> = {
  linux: 'the system keyring (Secret Service)',
  darwin: 'the macOS login keychain',
  win32: 'Windows Credential Manager',
};

/**
 * The OS keyring through @napi-rs/keyring (the Rust keyring crate): the Secret Service on
 * Linux, the login keychain on macOS (items readable by this app only, unlike `security`'s),
 * Credential Manager on Windows. In process: no helper tool, no PowerShell, nothing on stdin
 * or argv. Calls are synchronous in the binding and take milliseconds; the Secret Service
 * round trip is the slowest and happens once per sign-in, never per tile.
 */
function nativeBackend(platform: NodeJS.Platform): KeyringBackend | undefined {
  const description = DESCRIPTIONS[platform] ?? (platform === 'freebsd' || platform === 'openbsd' ? DESCRIPTIONS.linux : undefined);
  const Entry = loadNative();
  if (!description || !Entry) return undefined;
  // Linux: the Secret Service only. The binding would otherwise fall back to the kernel
  // keyring, which forgets everything at logout, so the user would sign in every day.
  const entry = (key: string): NativeEntry => new Entry(SERVICE, key, { linux: { store: 'secret-service' } });
  return {
    description,
    async get(key) {
      try {
        return entry(key).getPassword() ?? undefined;
      } catch (err) {
        if (/no (matching )?entry|not found/i.test(String(err))) return undefined;
        throw keyringFailure('read', err);
      }
    },
    async set(key, value) {
      try {
        entry(key).setPassword(value);
      } catch (err) {
        throw keyringFailure('store', err);
      }
    },
    async delete(key) {
      try {
        entry(key).deletePassword();
      } catch (err) {
        if (/no (matching )?entry|not found/i.test(String(err))) return;
        throw keyringFailure('delete', err);
      }
    },
  };
}

class KeyringSecretStore implements SecretStore {
  readonly kind = 'keyring' as const;
  readonly description: string;
  readonly #backend: KeyringBackend;
  constructor(backend: KeyringBackend) {
    this.#backend = backend;
    this.description = backend.description;
  }
  get(key: string): Promise<string | undefined> {
    return this.#backend.get(key);
  }
  set(key: string, value: string): Promise<void> {
    return this.#backend.set(key, value);
  }
  delete(key: string): Promise<void> {
    return this.#backend.delete(key);
  }
}


/** A keyring counts as working only if a probe value survives a write, a read and a delete. */
async function probeKeyring(backend: KeyringBackend): Promise<string | undefined> {
  const key = `probe-${process.pid}-${Date.now()}`;
  const value = `probe-${Math.random().toString(36).slice(2)}`;
  try {
    await backend.set(key, value);
    const back = await backend.get(key);
    await backend.delete(key);
    if (back !== value) return 'the keyring did not return what was stored';
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export async function createSecretStore(opts: { preference: 'auto' | 'keyring' | 'file'; dir: string; platform?: NodeJS.Platform }): Promise<SecretStore> {
  if (opts.preference === 'file') return new FileSecretStore(opts.dir);
  const backend = nativeBackend(opts.platform ?? process.platform);
  const problem = backend ? await probeKeyring(backend) : 'no keyring support on this platform';
  if (backend && problem === undefined) return new KeyringSecretStore(backend);
  const why = 'the system keyring is not available';
  if (opts.preference === 'keyring') log.warn('keyring requested but not working; using an owner-only file', { problem });
  else log.info('no working keyring; using an owner-only file', { problem });
  return new FileSecretStore(opts.dir, why);
}
