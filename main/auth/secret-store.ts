/**
 * Where the refresh token rests between runs. Preference order for headless and CLI:
 * the OS keyring through its own command-line tool (Linux `secret-tool` / libsecret,
 * macOS `security`, Windows PasswordVault through PowerShell), used only when a probe
 * write/read/delete round trip works; otherwise an owner-only (0600) file in a 0700
 * folder. The Electron shell adds a safeStorage-backed store of its own. Secrets are
 * passed to the tools on stdin, never on the command line (other users can read argv).
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecretStoreKind } from '../api/contract.js';
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

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], stdin?: string, timeoutMs = 10_000): Promise<RunResult> {
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    } catch (err) {
      resolve({ code: -1, stdout: '', stderr: String(err) });
      return;
    }
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + String(err) });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => undefined); // the tool may exit before reading stdin
    child.stdin.end(stdin ?? '');
  });
}

interface KeyringBackend {
  description: string;
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
}

function keyringFailure(op: string, r: RunResult): AppError {
  return authErrors.make('SECRETS_KEYRING_FAILED', `The system keyring could not ${op} the saved sign-in.`, {
    hint: 'Unlock the keyring (log out and in again), or ask IT to set secrets.store to "file".',
    details: { exitCode: r.code, stderr: r.stderr.slice(0, 300) },
  });
}

/** Linux: libsecret's `secret-tool` (GNOME Keyring, KWallet through its Secret Service). */
const linuxKeyring: KeyringBackend = {
  description: 'the system keyring (Secret Service)',
  async get(key) {
    const r = await run('secret-tool', ['lookup', 'service', SERVICE, 'account', key]);
    if (r.code === 0) return r.stdout.length ? r.stdout : undefined;
    if (r.code === 1 && r.stderr.trim() === '') return undefined; // not found
    throw keyringFailure('read', r);
  },
  async set(key, value) {
    const r = await run('secret-tool', ['store', `--label=${SERVICE} ${key}`, 'service', SERVICE, 'account', key], value);
    if (r.code !== 0) throw keyringFailure('store', r);
  },
  async delete(key) {
    const r = await run('secret-tool', ['clear', 'service', SERVICE, 'account', key]);
    if (r.code !== 0 && r.stderr.trim() !== '') throw keyringFailure('delete', r);
  },
};

function securityQuote(s: string): string {
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** macOS: the login keychain through `security`; the secret goes in through `security -i` on stdin. */
const macKeyring: KeyringBackend = {
  description: 'the macOS login keychain',
  async get(key) {
    const r = await run('security', ['find-generic-password', '-s', SERVICE, '-a', key, '-w']);
    if (r.code === 0) return r.stdout.replace(/\n$/, '') || undefined;
    if (r.code === 44) return undefined; // errSecItemNotFound
    throw keyringFailure('read', r);
  },
  async set(key, value) {
    const r = await run('security', ['-i'], `add-generic-password -U -s ${securityQuote(SERVICE)} -a ${securityQuote(key)} -w ${securityQuote(value)}\n`);
    if (r.code !== 0 || /error/i.test(r.stderr)) throw keyringFailure('store', r);
  },
  async delete(key) {
    const r = await run('security', ['delete-generic-password', '-s', SERVICE, '-a', key]);
    if (r.code !== 0 && r.code !== 44) throw keyringFailure('delete', r);
  },
};

const PS_VAULT = "$ErrorActionPreference='Stop';[void][Windows.Security.Credentials.PasswordVault,Windows.Security.Credentials,ContentType=WindowsRuntime];$v=New-Object Windows.Security.Credentials.PasswordVault;$in=[Console]::In.ReadToEnd() | ConvertFrom-Json;";
function powershell(script: string, input: Record<string, string>): Promise<RunResult> {
  return run('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', PS_VAULT + script], JSON.stringify(input));
}

/** Windows: the Credential Locker (PasswordVault), through Windows PowerShell with inputs on stdin. */
const windowsKeyring: KeyringBackend = {
  description: 'Windows Credential Manager',
  async get(key) {
    const r = await powershell("try{$c=$v.Retrieve($in.s,$in.k);$c.RetrievePassword();[Console]::Out.Write($c.Password)}catch{if($_.Exception.HResult -eq -2147023728){exit 3};throw}", { s: SERVICE, k: key });
    if (r.code === 0) return r.stdout || undefined;
    if (r.code === 3) return undefined;
    throw keyringFailure('read', r);
  },
  async set(key, value) {
    const r = await powershell('$v.Add((New-Object Windows.Security.Credentials.PasswordCredential($in.s,$in.k,$in.p)))', { s: SERVICE, k: key, p: value });
    if (r.code !== 0) throw keyringFailure('store', r);
  },
  async delete(key) {
    const r = await powershell("try{$v.Remove($v.Retrieve($in.s,$in.k))}catch{if($_.Exception.HResult -eq -2147023728){exit 0};throw}", { s: SERVICE, k: key });
    if (r.code !== 0) throw keyringFailure('delete', r);
  },
};

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

function backendForPlatform(platform: NodeJS.Platform): KeyringBackend | undefined {
  if (platform === 'linux' || platform === 'freebsd' || platform === 'openbsd') return linuxKeyring;
  if (platform === 'darwin') return macKeyring;
  if (platform === 'win32') return windowsKeyring;
  return undefined;
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
  const backend = backendForPlatform(opts.platform ?? process.platform);
  const problem = backend ? await probeKeyring(backend) : 'no keyring support on this platform';
  if (backend && problem === undefined) return new KeyringSecretStore(backend);
  const why = 'the system keyring is not available';
  if (opts.preference === 'keyring') log.warn('keyring requested but not working; using an owner-only file', { problem });
  else log.info('no working keyring; using an owner-only file', { problem });
  return new FileSecretStore(opts.dir, why);
}
