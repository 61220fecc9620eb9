/**
 * What the CLI commands run on: the same services the app composes (settings, secret
 * store, AuthService, STS provider, S3 client), built lazily so `help` needs no
 * settings and `whoami` does not call STS unless asked. No decisions of its own.
 */
import { AuthService, createSecretStore, type SecretStore } from '../auth/index.js';
import { AppError } from '../common/errors.js';
import { loadSettings, isConfigured, type LoadedSettings, type Settings } from '../config/index.js';
import { StsWebIdentityProvider } from '../credentials/index.js';
import { S3Client } from '../sources/s3.js';
import { createDicomweb, dicomwebResources, type DicomwebServices } from '../app/dicomweb.js';
import { resolveReader, resolveSource, sourceKind } from '../sources/resolve.js';
import type { FetchLike, FrameSource, RangeReader } from '../sources/types.js';
import { acquireSessionLock } from './session-lock.js';

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
  #credentials: StsWebIdentityProvider | undefined;
  #s3: S3Client | undefined;
  #unlock: (() => Promise<void>) | undefined;
  readonly #cleanups: (() => Promise<void> | void)[] = [];

  constructor(o: CliContextOptions) {
    this.#o = o;
    this.io = o.io;
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
      throw new AppError('CONFIG_NOT_SET_UP', 'No sign-in service is configured.', {
        hint: 'Pass --config FILE (for the demo: the "config" path printed by `npm run stack`), or ask IT for the settings file.',
      });
    }
    return s;
  }

  secretStore(): Promise<SecretStore> {
    this.#store ??= createSecretStore({ preference: this.settings.secrets.store, dir: this.settings.paths.data });
    return this.#store;
  }

  /** The AuthService, with a saved sign-in restored when there is one (unless `restore: false`). */
  auth(o: { restore?: boolean } = {}): Promise<AuthService> {
    this.#auth ??= (async () => {
      const s = this.configured();
      // Held until dispose(): restoring and any later refresh rotate the saved token.
      this.#unlock = await acquireSessionLock(s.paths.data);
      const auth = new AuthService({
        auth: s.auth,
        organisation: s.organisation.name,
        secretStore: await this.secretStore(),
        openBrowser: this.#o.openBrowser,
        // As the app does: the sign-in asks for every configured archive, so `tile dicomweb://…` works later.
        resources: dicomwebResources(s),
        ...(this.#o.fetch ? { fetch: this.#o.fetch } : {}),
      });
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
    if (st.error) throw new AppError(st.error.code, st.error.message, { ...(st.error.hint ? { hint: st.error.hint } : {}), ...(st.error.details ? { details: st.error.details } : {}) });
    throw new AppError('AUTH_NOT_SIGNED_IN', 'You are not signed in.', { hint: 'Run `slide-workstation login` first.' });
  }

  async credentials(): Promise<StsWebIdentityProvider> {
    if (this.#credentials) return this.#credentials;
    const auth = await this.signedIn();
    const s = this.configured();
    this.#credentials = new StsWebIdentityProvider({
      sts: s.storage.sts,
      region: s.storage.s3.region,
      identity: auth,
      ...(this.#o.fetch ? { fetch: this.#o.fetch } : {}),
    });
    return this.#credentials;
  }

  async s3(): Promise<S3Client> {
    if (this.#s3) return this.#s3;
    const s = this.configured();
    this.#s3 = new S3Client({
      endpoint: s.storage.s3.endpoint,
      region: s.storage.s3.region,
      forcePathStyle: s.storage.s3.forcePathStyle,
      credentials: await this.credentials(),
      ...(this.#o.fetch ? { fetch: this.#o.fetch } : {}),
    });
    return this.#s3;
  }

  /** A reader for a local path, file://, s3:// (signed in) or http(s)://. */
  async reader(uri: string): Promise<RangeReader> {
    if (/^s3:\/\//i.test(uri)) return resolveReader(uri, { settings: this.settings, s3: await this.s3() });
    return resolveReader(uri, { settings: this.settings, ...(this.#o.fetch ? { fetch: this.#o.fetch } : {}) });
  }

  /**
   * What the tile service opens: a reader as above, or for dicomweb://<archive>/… a frame
   * source whose client sends the signed-in user's token for that archive (the app's own
   * wiring, main/app/dicomweb.ts).
   */
  async source(uri: string): Promise<RangeReader | FrameSource> {
    if (sourceKind(uri) !== 'dicomweb') return this.reader(uri);
    this.#dicomweb ??= this.signedIn().then((auth) => createDicomweb({ settings: this.settings, auth, ...(this.#o.fetch ? { fetch: this.#o.fetch } : {}) }));
    const dicomweb = await this.#dicomweb;
    return resolveSource(uri, { settings: this.settings, dicomweb: (name) => dicomweb.client(name) });
  }

  /** Run at dispose(), last registered first (tile service before its cache). */
  onDispose(fn: () => Promise<void> | void): void {
    this.#cleanups.push(fn);
  }

  async dispose(): Promise<void> {
    for (const fn of this.#cleanups.splice(0).reverse()) await Promise.resolve(fn()).catch(() => undefined);
    this.#credentials?.dispose();
    if (this.#auth) (await this.#auth.catch(() => undefined))?.dispose();
    await this.#unlock?.();
  }
}
