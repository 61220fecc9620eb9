/**
 * The composition root: the one place that builds the main-process services and wires
 * them together, for every host (Electron shell, headless host, tests).
 *
 *   settings → secret store → AuthService → STS credential provider → S3 storage client
 *
 * Nothing here decides anything a service could decide itself; it only passes settings
 * and collaborators along and exposes the result in the shape the API handlers need.
 */
import { readFileSync } from 'node:fs';
import type { AppInfo, CredentialsInfo, StorageEntry, StorageListing } from '../api/contract.js';
import type { ApiServices } from '../api/handlers.js';
import { AuthService, createSecretStore, type SecretStore } from '../auth/index.js';
import { AppError } from '../common/errors.js';
import { logger } from '../common/log.js';
import { loadSettings, type LoadedSettings, type Settings } from '../config/index.js';
import type { FetchLike } from '../sources/types.js';
import { createStorage, type StorageServices } from './storage.js';

const log = logger('app');

export interface ServicesOptions {
  /** `--config FILE` (for example the file `npm run stack` writes). */
  configFile?: string;
  /** Read no user settings or IT policy from this machine (tests). */
  isolated?: boolean;
  /** Override paths.data (tests: a temporary folder). */
  dataDir?: string;
  host: AppInfo['host'];
  /** True when the settings came from the built-in demo environment. */
  demo?: boolean;
  /** Opens a URL in the system browser (sign-in, sign-out page). */
  openBrowser: (url: string) => Promise<void>;
  /** The Electron shell passes a safeStorage-backed store; others get keyring-or-file. */
  secretStore?: SecretStore;
  fetch?: FetchLike;
  version?: string;
}

export interface Services {
  loaded: LoadedSettings;
  settings: Settings;
  secretStore: SecretStore;
  auth: AuthService;
  storage: StorageServices;
  /** What main/api/handlers.ts maps the contract onto. */
  api: ApiServices;
  dispose(): Promise<void>;
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export async function createServices(o: ServicesOptions): Promise<Services> {
  const loaded = loadSettings({ ...(o.configFile ? { configFile: o.configFile } : {}), ...(o.isolated ? { isolated: true } : {}) });
  const settings = loaded.settings;
  if (o.dataDir) settings.paths.data = o.dataDir;

  const secretStore = o.secretStore ?? (await createSecretStore({ preference: settings.secrets.store, dir: settings.paths.data }));
  const auth = new AuthService({
    auth: settings.auth,
    organisation: settings.organisation.name,
    secretStore,
    openBrowser: o.openBrowser,
    ...(o.fetch ? { fetch: o.fetch } : {}),
  });
  const storage = createStorage({ settings, auth, ...(o.fetch ? { fetch: o.fetch } : {}) });
  const version = o.version ?? packageVersion();

  const api: ApiServices = {
    appInfo: () => ({
      version,
      organisation: settings.organisation.name,
      demo: o.demo ?? false,
      host: o.host,
      lockedSettings: [...loaded.locked].sort(),
    }),
    auth,
    credentialsInfo: (): Promise<CredentialsInfo | null> => (auth.state().status === 'signed-in' ? storage.credentialsInfo() : Promise.resolve(null)),
    storage: {
      roots: async (): Promise<StorageEntry[]> => {
        requireSignedIn(auth);
        return storage.roots();
      },
      list: async (uri: string, continuation?: string): Promise<StorageListing> => {
        requireSignedIn(auth);
        return storage.list(uri, continuation);
      },
    },
  };

  // A sign-out or a new user must never reuse the previous user's storage credentials.
  let lastSub: string | undefined;
  auth.onChange((s) => {
    const sub = s.status === 'signed-in' ? s.user?.sub : undefined;
    if (sub !== lastSub) storage.invalidate();
    lastSub = sub;
  });

  log.info('services ready', { host: o.host, demo: o.demo ?? false, organisation: settings.organisation.name, secretStore: secretStore.kind });
  return {
    loaded,
    settings,
    secretStore,
    auth,
    storage,
    api,
    dispose: async () => {
      auth.dispose();
      storage.invalidate();
    },
  };
}

function requireSignedIn(auth: AuthService): void {
  if (auth.state().status !== 'signed-in') {
    throw new AppError('AUTH_NOT_SIGNED_IN', 'You are not signed in.', { hint: 'Sign in to see your storage.' });
  }
}
