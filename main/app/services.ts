/**
 * The composition root: the one place that builds the main-process services and wires
 * them together, for every host (Electron shell, headless host, tests).
 *
 *   settings → secret store → AuthService → STS credential provider → S3 storage client
 *   settings → tile cache (<paths.cache>/tiles.db, shared with the CLI) → TileService
 *     (reads through the same S3 client, so with the signed-in user's credentials)
 *     → open slides (ids in tile URLs) → the /tiles/… route of both hosts
 *
 * Nothing here decides anything a service could decide itself; it only passes settings
 * and collaborators along and exposes the result in the shape the API handlers need.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { AppInfo, CredentialsInfo, StorageEntry, StorageListing } from '../api/contract.js';
import type { ApiServices } from '../api/handlers.js';
import type { RequestHandler } from '../api/app-protocol.js';
import { createAssociatedRoute, isAssociatedPath } from '../api/associated-route.js';
import { createTileRoute } from '../api/tile-route.js';
import { TileCache } from '../cache/tile-cache.js';
import { AnnotationService } from '../annotations/service.js';
import { ANNOTATIONS_FILE, openAnnotationStore } from '../annotations/store.js';
import { AuthService, createSecretStore, type SecretStore } from '../auth/index.js';
import { AppError } from '../common/errors.js';
import { logger } from '../common/log.js';
import { loadSettings, type LoadedSettings, type Settings } from '../config/index.js';
import { resolveReader, resolveSource } from '../sources/resolve.js';
import { dicomSiblings } from '../sources/siblings.js';
import type { FetchLike } from '../sources/types.js';
import { TileService, type SlideHandle } from '../tiles/service.js';
import { createDicomweb, DEFAULT_PAGE_SIZE, dicomwebResources } from './dicomweb.js';
import { Connectivity, endpointProbe, storageEndpoints, watchTileRoute } from './offline.js';
import { BUDGET_KEY, OfflineManager } from './pins.js';
import { OpenSlides } from './slides.js';
import { saveUserSetting } from './user-settings.js';
import { createStorage, type StorageServices } from './storage.js';

/** The CLI's file name too (main/cli/slide-commands.ts): `pin` there makes slides offline here. */
export const TILE_CACHE_FILE = 'tiles.db';

const log = logger('app');

export interface ServicesOptions {
  /** `--config FILE` (for example the file `npm run stack` writes). */
  configFile?: string;
  /** Read no user settings or IT policy from this machine (tests). */
  isolated?: boolean;
  /** Override paths.data (tests: a temporary folder). */
  dataDir?: string;
  /** Override paths.cache. Default with `isolated` and `dataDir`: <dataDir>/cache, so tests never share a cache. */
  cacheDir?: string;
  host: AppInfo['host'];
  /** True when the settings came from the built-in demo environment. */
  demo?: boolean;
  /** Opens a URL in the system browser (sign-in, sign-out page). */
  openBrowser: (url: string) => Promise<void>;
  /**
   * The system's "open file" dialog, for "Open local slide…": the chosen path, or undefined
   * when cancelled. The Electron shell passes its dialog; tests play the user choosing.
   */
  pickFile?: () => Promise<string | undefined>;
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
  cache: TileCache;
  tiles: TileService;
  slides: OpenSlides;
  /** Whether storage can be reached (offline state, probe). */
  connectivity: Connectivity;
  /** Pins ("available offline"), cache usage and budget, slides openable offline. */
  offline: OfflineManager;
  /** The /tiles/… route both hosts plug into createAppRequestHandler({tiles}). */
  tileRoute: RequestHandler;
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
  if (o.cacheDir) settings.paths.cache = o.cacheDir;
  else if (o.isolated && o.dataDir) settings.paths.cache = join(o.dataDir, 'cache');

  const secretStore = o.secretStore ?? (await createSecretStore({ preference: settings.secrets.store, dir: settings.paths.data }));
  const auth = new AuthService({
    auth: settings.auth,
    organisation: settings.organisation.name,
    secretStore,
    openBrowser: o.openBrowser,
    ...(o.fetch ? { fetch: o.fetch } : {}),
    // The sign-in covers every archive that wants its own token (RFC 8707).
    resources: dicomwebResources(settings),
  });
  // One client per archive; each asks auth for the current user's token at every request.
  const dicomweb = createDicomweb({ settings, auth, ...(o.fetch ? { fetch: o.fetch } : {}) });
  const storage = createStorage({ settings, auth, ...(o.fetch ? { fetch: o.fetch } : {}) });
  const version = o.version ?? packageVersion();

  const cache = TileCache.open(join(settings.paths.cache, TILE_CACHE_FILE), { budgetBytes: settings.cache.budgetMiB * 1024 * 1024 });
  // storage.s3 signs with the current user's STS credentials, renewed and invalidated with the sign-in.
  const tiles = new TileService({
    cache,
    resolve: async (uri) => resolveSource(uri, { settings, s3: storage.s3, dicomweb: (name) => dicomweb.client(name) }),
    // A DICOM file is one level of a series: its siblings in the folder / prefix, read with the same credentials.
    siblings: (uri) => dicomSiblings(uri, { s3: async () => storage.s3, reader: (u) => resolveReader(u, { settings, s3: storage.s3 }) }),
  });
  const slides = new OpenSlides(tiles);
  // The user's own work lives in the data folder, never the cache: Clear cache cannot reach it.
  const annotationStore = openAnnotationStore(join(settings.paths.data, ANNOTATIONS_FILE));
  const annotations = new AnnotationService({
    store: annotationStore,
    author: () => {
      const s = auth.state();
      if (s.status !== 'signed-in' || !s.user) return undefined;
      return { sub: s.user.sub, name: s.user.name || s.user.sub };
    },
  });
  const connectivity = new Connectivity({ probe: endpointProbe(storageEndpoints(settings), o.fetch) });
  const offline = new OfflineManager({
    tiles,
    slides,
    connectivity,
    locked: loaded.locked,
    saveBudget: (mib) => saveUserSetting(settings.paths.data, BUDGET_KEY, mib),
  });
  const openSlide = (id: string): SlideHandle | undefined => (auth.state().status === 'signed-in' ? slides.get(id) : undefined);
  const tileImages = createTileRoute({ tiles, slide: openSlide });
  const associatedImages = createAssociatedRoute({ tiles, slide: openSlide });
  const tileRoute: RequestHandler = (request) => (isAssociatedPath(new URL(request.url).pathname) ? associatedImages(request) : tileImages(request));

  const api: ApiServices = {
    appInfo: () => ({
      version,
      organisation: settings.organisation.name,
      demo: o.demo ?? false,
      host: o.host,
      lockedSettings: [...loaded.locked].sort(),
      fileDialog: Boolean(o.pickFile),
    }),
    auth,
    credentialsInfo: (): Promise<CredentialsInfo | null> =>
      auth.state().status === 'signed-in' ? connectivity.observe(() => storage.credentialsInfo()) : Promise.resolve(null),
    storage: {
      roots: async (): Promise<StorageEntry[]> => {
        requireSignedIn(auth);
        // Roots need only credentials, which may still be cached: a success proves nothing.
        return connectivity.observe(() => storage.roots());
      },
      list: async (uri: string, continuation?: string): Promise<StorageListing> => {
        requireSignedIn(auth);
        return connectivity.track(() => storage.list(uri, continuation));
      },
    },
    slides: {
      open: async (uri: string) => {
        requireSignedIn(auth);
        return offline.open(uri);
      },
      close: (id: string) => slides.close(id),
      // Signed out: the slides are closing; a late hint must not read with the next user's credentials.
      want: (id, tiles, plane) => (auth.state().status === 'signed-in' ? slides.want(id, tiles.map(([level, col, row]) => ({ level, col, row, plane }))) : 0),
      pickLocal: async (): Promise<StorageEntry | null> => {
        requireSignedIn(auth);
        if (!o.pickFile) {
          throw new AppError('APP_NO_FILE_DIALOG', 'Opening a slide from this computer needs the desktop app.', {
            hint: 'This window is the headless host, which has no file dialog: start the app with npm start, or put the slide in storage.',
          });
        }
        const path = await o.pickFile();
        if (!path) return null;
        return { kind: 'file', name: basename(path), uri: slides.allowLocal(path), slide: true };
      },
    },
    cacheStats: () => slides.cacheStats(),
    cache: {
      usage: () => offline.usage(),
      clear: (includePinned) => offline.clear(includePinned),
      setBudget: (mib) => offline.setBudget(mib),
    },
    offline: {
      state: () => connectivity.state(),
      check: () => connectivity.check(),
      slides: () => offline.offlineSlides(),
      onChange: (l) => connectivity.onChange(l),
    },
    pins: {
      list: () => offline.list({ measure: true }),
      add: async (uri, minDownsample) => {
        requireSignedIn(auth);
        return offline.add(uri, minDownsample);
      },
      pause: (uri) => offline.pause(uri),
      resume: async (uri) => {
        requireSignedIn(auth);
        return offline.resume(uri);
      },
      remove: (uri) => offline.remove(uri),
      onChange: (l) => offline.onChange(l),
    },
    dicomweb: {
      sources: async () => {
        requireSignedIn(auth);
        return dicomweb.sources();
      },
      searchStudies: async (source, query, offset, limit) => {
        requireSignedIn(auth);
        return dicomweb.searchStudies(source, query, offset ?? 0, limit ?? DEFAULT_PAGE_SIZE);
      },
      listSeries: async (source, study) => {
        requireSignedIn(auth);
        return dicomweb.listSeries(source, study);
      },
    },
    annotations,
  };

  // A sign-out or a new user must never reuse the previous user's storage credentials.
  let lastSub: string | undefined;
  auth.onChange((s) => {
    const sub = s.status === 'signed-in' ? s.user?.sub : undefined;
    if (sub !== lastSub) {
      storage.invalidate();
      // Another user must not reach the previous user's open slides through their ids.
      void slides.closeAll().catch((err: unknown) => log.warn('closing slides after sign-out failed', { err }));
      // Pins download with the signed-in user's credentials: they wait for the next sign-in.
      void offline
        .stop()
        .then(() => {
          if (sub !== undefined) offline.start();
        })
        .catch((err: unknown) => log.warn('switching pin downloads to the new user failed', { err }));
    }
    lastSub = sub;
  });

  log.info('services ready', { host: o.host, demo: o.demo ?? false, organisation: settings.organisation.name, secretStore: secretStore.kind });
  return {
    loaded,
    settings,
    secretStore,
    auth,
    storage,
    cache,
    tiles,
    slides,
    connectivity,
    offline,
    tileRoute: watchTileRoute(tileRoute, connectivity),
    api,
    dispose: async () => {
      auth.dispose();
      connectivity.dispose();
      await offline.close().catch((err: unknown) => log.warn('stopping pin downloads failed', { err }));
      await slides.closeAll().catch(() => undefined);
      // The tile service first (it flushes pending writes), then its cache.
      await tiles.close().catch((err: unknown) => log.warn('closing the tile service failed', { err }));
      cache.close();
      annotationStore.close();
      storage.invalidate();
    },
  };
}

function requireSignedIn(auth: AuthService): void {
  if (auth.state().status !== 'signed-in') {
    throw new AppError('AUTH_NOT_SIGNED_IN', 'You are not signed in.', { hint: 'Sign in to see your storage.' });
  }
}
