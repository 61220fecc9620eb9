/**
 * What the CLI commands run on: the same services the app composes, from the same
 * pieces (main/app/compose.ts, storage.ts, dicomweb.ts), built lazily so `help` needs no
 * settings and `whoami` does not call STS unless asked. No decisions of its own.
 */
import { createAuth, createSlideSources, type SlideSources } from '../app/compose.js';
import { createDicomweb, type DicomwebServices } from '../app/dicomweb.js';
import { createStorage, type StorageServices } from '../app/storage.js';
import { createSecretStore, type AuthService, type SecretStore } from '../auth/index.js';
import { resolveFetch } from '../net/fetch.js';
import { fromSerialized } from '../common/errors.js';
import { loadSettings, isConfigured, type LoadedSettings, type Settings } from '../config/index.js';
import type { StsWebIdentityProvider } from '../credentials/index.js';
import type { S3Client } from '../sources/s3.js';
import type { FetchLike, FrameSource, RangeReader } from '../sources/types.js';
import { acquireSessionLock } from './session-lock.js';
import { authErrors } from '../auth/errors.js';
import { configErrors } from '../config/errors.js';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

export interface CliContextOptions {
  configFile: string | undefined;
  io: CliIo;
  /** How the sign-in URL reaches a browser: the system browser, or printed (--no-browser). */
  openBrowser: (url: string) => Promise<void>;
  fetch?: FetchLike;
}

export class CliContext {
  readonly io: CliIo;
  readonly #o: CliContextOptions;
  #loaded: LoadedSettings | undefined;
  #store: Promise<SecretStore> | undefined;
  #auth: Promise<AuthService> | undefined;
  #dicomweb: Promise<DicomwebServices> | undefined;
  #storage: Promise<StorageServices> | undefined;
  #sources: SlideSources | undefined;
  #unlock: (() => Promise<void>) | undefined;
  readonly #cleanups: (() => Promise<void> | void)[] = [];

  #network: { fetch: FetchLike | undefined } | undefined;

  constructor(o: CliContextOptions) {
    this.#o = o;
    this.io = o.io;
  }

  /** The one fetch of this run: the caller's, else proxy and CA from the environment and settings. */
  #fetchOption(): { fetch?: FetchLike } {
    this.#network ??= { fetch: resolveFetch(this.#o.fetch, this.settings) };
    return this.#network.fetch ? { fetch: this.#network.fetch } : {};
  }

  get loaded(): LoadedSettings {
    this.#loaded ??= loadSettings(this.#o.configFile ? { configFile: this.#o.configFile } : {});
    return this.#loaded;
  }

  get settings(): Settings {
    return this.loaded.settings;
  }

  /** Settings that name an identity provider; else a clear "not set up" error. */
  configured(): Settings {
    const s = this.settings;
    if (!isConfigured(s)) {
      throw configErrors.make('CONFIG_NOT_SET_UP', 'No sign-in service is configured.', {
        hint: 'Pass --config FILE (for the demo: the "config" path printed by `npm run stack`), or ask IT for the settings file.',
      });
    }
    return s;
  }

  secretStore(): Promise<SecretStore> {
    this.#store ??= createSecretStore({ preference: this.settings.secrets.store, dir: this.settings.paths.data });
    return this.#store;
  }

  /** Take this command's turn on the saved sign-in (held until dispose()); idempotent. */
  async lockSession(): Promise<void> {
    this.#unlock ??= await acquireSessionLock(this.configured().paths.data);
  }

  /** The AuthService, with a saved sign-in restored when there is one (unless `restore: false`). */
  auth(o: { restore?: boolean } = {}): Promise<AuthService> {
    this.#auth ??= (async () => {
      const s = this.configured();
      // Held until dispose(): restoring and any later refresh rotate the saved token.
      await this.lockSession();
      // As the app does: the sign-in asks for every configured archive, so `tile dicomweb://…` works later.
      const auth = createAuth(s, { secretStore: await this.secretStore(), openBrowser: this.#o.openBrowser, ...this.#fetchOption() });
      // `logout` does not restore: restoring refreshes, and a sign-out must not mint fresh
      // tokens (an ID token that still buys storage credentials) on its way out.
      if (o.restore !== false) await auth.restore();
      return auth;
    })();
    return this.#auth;
  }

  /** The signed-in AuthService, or AUTH_NOT_SIGNED_IN with the restore error's words when there was one. */
  async signedIn(): Promise<AuthService> {
    const auth = await this.auth();
    const st = auth.state();
    if (st.status === 'signed-in') return auth;
    if (st.error) throw fromSerialized(st.error);
    throw authErrors.make('AUTH_NOT_SIGNED_IN', 'You are not signed in.', { hint: 'Run `slide-workstation login` first.' });
  }

  /** STS credentials and the S3 client, as the app wires them (main/app/storage.ts), once signed in. */
  storage(): Promise<StorageServices> {
    this.#storage ??= this.signedIn().then((auth) => createStorage({ settings: this.configured(), auth, ...this.#fetchOption() }));
    this.#storage.catch(() => (this.#storage = undefined));
    return this.#storage;
  }

  async credentials(): Promise<StsWebIdentityProvider> {
    return (await this.storage()).credentials;
  }

  async s3(): Promise<S3Client> {
    return (await this.storage()).s3;
  }

  /** Readers, frame sources and DICOM siblings as the app resolves them, with this run's sign-in. */
  get sources(): SlideSources {
    this.#sources ??= createSlideSources(this.settings, {
      s3: () => this.s3(),
      dicomweb: () => {
        this.#dicomweb ??= this.signedIn().then((auth) => createDicomweb({ settings: this.settings, auth, ...this.#fetchOption() }));
        return this.#dicomweb;
      },
      ...this.#fetchOption(),
    });
    return this.#sources;
  }

  /** A reader for a local path, file://, s3:// (signed in) or http(s)://. */
  reader(uri: string): Promise<RangeReader> {
    return this.sources.reader(uri);
  }

  /** What the tile service opens: a reader as above, or a DICOMweb frame source. */
  source(uri: string): Promise<RangeReader | FrameSource> {
    return this.sources.source(uri);
  }

  /** Run at dispose(), last registered first (tile service before its cache). */
  onDispose(fn: () => Promise<void> | void): void {
    this.#cleanups.push(fn);
  }

  async dispose(): Promise<void> {
    for (const fn of this.#cleanups.splice(0).reverse()) await Promise.resolve(fn()).catch(() => undefined);
    if (this.#storage) (await this.#storage.catch(() => undefined))?.credentials.dispose();
    if (this.#auth) (await this.#auth.catch(() => undefined))?.dispose();
    await this.#unlock?.();
  }
}
