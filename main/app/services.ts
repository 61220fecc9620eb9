/**
 * The composition root: the one place that builds the main-process services and wires
 * them together, for every host (Electron shell, headless host, tests); the pieces the
 * CLI builds too (auth, slide sources, tile engine) come from compose.ts.
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
import type { TileCache } from '../cache/tile-cache.js';
import { createSecretStore, type AuthService, type SecretStore } from '../auth/index.js';
import { logFolder, logger } from '../common/log.js';
import { resolveFetch } from '../net/fetch.js';
import { AnnotationService } from '../annotations/service.js';
import { ANNOTATIONS_FILE, openAnnotationStore } from '../annotations/store.js';
import { loadSettings, type LoadedSettings, type Settings } from '../config/index.js';
import type { FetchLike } from '../sources/types.js';
import type { SlideHandle, TileService } from '../tiles/service.js';
import { createAuth, createSlideSources, createTileEngine } from './compose.js';
import { createDicomweb, DEFAULT_PAGE_SIZE } from './dicomweb.js';
import { Connectivity, endpointProbe, storageEndpoints, watchTileRoute } from './offline.js';
import { BUDGET_KEY, OfflineManager } from './pins.js';
import { AddressCheck } from './address-check.js';
import { OpenSlides } from './slides.js';
import { saveUserSetting } from './user-settings.js';
import { createStorage, type StorageServices } from './storage.js';
import { appErrors } from './errors.js';

export { TILE_CACHE_FILE } from './compose.js';

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

  // One fetch for every request of main: the host's (Electron's net.fetch), else proxy and CA from the environment.
  const fetch = resolveFetch(o.fetch, settings);
  const withFetch = fetch ? { fetch } : {};
  const secretStore = o.secretStore ?? (await createSecretStore({ preference: settings.secrets.store, dir: settings.paths.data }));
  const auth = createAuth(settings, { secretStore, openBrowser: o.openBrowser, ...withFetch });
  // One client per archive; each asks auth for the current user's token at every request.
  const dicomweb = createDicomweb({ settings, auth, ...withFetch });
  const storage = createStorage({ settings, auth, ...withFetch });
  const version = o.version ?? packageVersion();

  // storage.s3 signs with the current user's STS credentials, renewed and invalidated with the sign-in.
  const sources = createSlideSources(settings, { s3: async () => storage.s3, dicomweb: async () => dicomweb });
  const { cache, tiles } = createTileEngine(settings, sources);
  // The one rule for addresses the renderer names (main/app/address-check.ts).
  const addresses = new AddressCheck({
    buckets: () => settings.storage.s3.buckets.map((b) => b.name),
    archives: () => (settings.storage.dicomweb ?? []).map((a) => a.name),
  });
  const slides = new OpenSlides(tiles, addresses);
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
  const connectivity = new Connectivity({ probe: endpointProbe(storageEndpoints(settings), fetch) });
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

  // Which calls need a signed-in user is declared with each call (CALLS in main/api/handlers.ts); the dispatcher checks it.
  const api: ApiServices = {
    appInfo: () => ({
      version,
      organisation: settings.organisation.name,
      demo: o.demo ?? false,
      host: o.host,
      lockedSettings: [...loaded.locked].sort(),
      fileDialog: Boolean(o.pickFile),
      ...(logFolder() ? { logFolder: logFolder()! } : {}),
    }),
    auth,
    credentialsInfo: (): Promise<CredentialsInfo | null> =>
      auth.state().status === 'signed-in' ? connectivity.observe(() => storage.credentialsInfo()) : Promise.resolve(null),
    storage: {
      roots: async (): Promise<StorageEntry[]> => {
        // Roots need only credentials, which may still be cached: a success proves nothing.
        return connectivity.observe(() => storage.roots());
      },
      list: async (uri: string, continuation?: string): Promise<StorageListing> => {
        addresses.check(uri, { folder: true });
        return connectivity.track(() => storage.list(uri, continuation));
      },
    },
    slides: {
      open: async (uri: string) => {
        addresses.check(uri);
        return offline.open(uri);
      },
      close: (id: string) => slides.close(id),
      // Signed out: the slides are closing; a late hint must not read with the next user's credentials.
      want: (id, tiles, plane) => (auth.state().status === 'signed-in' ? slides.want(id, tiles.map(([level, col, row]) => ({ level, col, row, plane }))) : 0),
      pickLocal: async (): Promise<StorageEntry | null> => {
        if (!o.pickFile) {
          throw appErrors.make('APP_NO_FILE_DIALOG', 'Opening a slide from this computer needs the desktop app.', {
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
        // The same check as slides.open: a page must not pin /etc/… or an internal http:// URL.
        addresses.check(uri);
        return offline.add(uri, minDownsample);
      },
      pause: (uri) => offline.pause(uri),
      resume: async (uri) => {
        return offline.resume(uri);
      },
      remove: (uri) => offline.remove(uri),
      onChange: (l) => offline.onChange(l),
    },
    dicomweb: {
      sources: async () => {
        return dicomweb.sources();
      },
      searchStudies: async (source, query, offset, limit) => {
        return dicomweb.searchStudies(source, query, offset ?? 0, limit ?? DEFAULT_PAGE_SIZE);
      },
      listSeries: async (source, study) => {
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
