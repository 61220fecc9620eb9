/**
 * The app's secret store: values encrypted with Electron's safeStorage (macOS Keychain,
 * Windows DPAPI, Linux Secret Service/KWallet) in an owner-only file in the user data
 * folder. When safeStorage has no real protection (Linux 'basic_text'), the headless
 * keyring-or-file store is used instead and the UI says so.
 */
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecretStore } from '../auth/index.js';
import type { SafeStorage } from './electron-shim.js';

const FILE = 'secrets.safestorage.json';

export function safeStorageUsable(safeStorage: SafeStorage): boolean {
  if (!safeStorage.isEncryptionAvailable()) return false;
  return safeStorage.getSelectedStorageBackend?.() !== 'basic_text';
}

export class SafeStorageSecretStore implements SecretStore {
  readonly kind = 'safeStorage' as const;
  readonly description = "your computer's protected storage (Keychain, Credential Manager or the desktop keyring), encrypted";
  readonly #path: string;
  readonly #dir: string;
  readonly #safe: SafeStorage;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(safeStorage: SafeStorage, dir: string) {
    this.#safe = safeStorage;
    this.#dir = dir;
    this.#path = join(dir, FILE);
  }

  async #read(): Promise<Record<string, string>> {
    try {
      const data = JSON.parse(await readFile(this.#path, 'utf8')) as unknown;
      return typeof data === 'object' && data !== null ? (data as Record<string, string>) : {};
    } catch {
      return {};
    }
  }

  async #write(data: Record<string, string>): Promise<void> {
    if (Object.keys(data).length === 0) {
      await rm(this.#path, { force: true });
      return;
    }
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.#path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(data), { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, this.#path);
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async get(key: string): Promise<string | undefined> {
    const sealed = (await this.#read())[key];
    if (sealed === undefined) return undefined;
    try {
      return this.#safe.decryptString(Buffer.from(sealed, 'base64'));
    } catch {
      // Sealed by another user or machine key: unusable, like no saved sign-in.
      return undefined;
    }
  }

  set(key: string, value: string): Promise<void> {
    return this.#serial(async () => {
      const data = await this.#read();
      data[key] = this.#safe.encryptString(value).toString('base64');
      await this.#write(data);
    });
  }

  delete(key: string): Promise<void> {
    return this.#serial(async () => {
      const data = await this.#read();
      delete data[key];
      await this.#write(data);
    });
  }
}
