/**
 * The pieces of the composition root every host builds the same way: the app and the
 * headless host (createServices in services.ts) and the CLI (main/cli/context.ts). Each
 * host decides when a piece is built (the CLI lazily, so `help` needs no settings);
 * what a piece is made of is decided here once.
 *
 *   settings + secret store → AuthService (asking for every archive's resource, RFC 8707)
 *   settings + AuthService → STS credentials → S3 client           (storage.ts)
 *   settings + AuthService → one DICOMweb client per archive         (dicomweb.ts)
 *   S3 client + DICOMweb clients → slide sources (readers, frame sources, DICOM siblings)
 *   slide sources → tile cache (<paths.cache>/tiles.db, shared by the app and the CLI) → TileService
 */
import { join } from 'node:path';
import { AuthService, type SecretStore } from '../auth/index.js';
import { TileCache } from '../cache/tile-cache.js';
import type { Settings } from '../config/index.js';
import { resolveReader, resolveSource, sourceKind } from '../sources/resolve.js';
import type { S3Client } from '../sources/s3.js';
import { dicomSiblings } from '../sources/siblings.js';
import type { FetchLike, FrameSource, RangeReader } from '../sources/types.js';
import { FrameScheduler } from '../tiles/frames.js';
import { RangeScheduler } from '../tiles/scheduler.js';
import { TileService } from '../tiles/service.js';
import { dicomwebResources, type DicomwebServices } from './dicomweb.js';

/** One tile cache file for the app and the CLI: `pin` in the CLI makes slides offline in the app. */
export const TILE_CACHE_FILE = 'tiles.db';

export interface AuthWiring {
  secretStore: SecretStore;
  /** Opens a URL in the system browser (sign-in, sign-out page), or prints it (CLI --no-browser). */
  openBrowser: (url: string) => Promise<void>;
  fetch?: FetchLike;
}

export function createAuth(settings: Settings, w: AuthWiring): AuthService {
  return new AuthService({
    auth: settings.auth,
    organisation: settings.organisation.name,
    secretStore: w.secretStore,
    openBrowser: w.openBrowser,
    ...(w.fetch ? { fetch: w.fetch } : {}),
    // The sign-in covers every archive that wants its own token (RFC 8707).
    resources: dicomwebResources(settings),
    // Every host on this data folder (app, headless, CLI) takes the same lock around the refresh token.
    refreshLockDir: settings.paths.data,
  });
}

export interface SlideSources {
  /** A reader for a local path, file://, s3:// (with the signed-in user's credentials) or http(s)://. */
  reader(uri: string): Promise<RangeReader>;
  /** What the tile service opens: a reader, or for dicomweb://<archive>/… a frame source with the user's token for that archive. */
  source(uri: string): Promise<RangeReader | FrameSource>;
  /** A DICOM file's series siblings (its folder or prefix), read with the same credentials. */
  siblings(uri: string): (() => Promise<RangeReader[]>) | undefined;
}

export interface SourceWiring {
  /** The signed-in user's S3 client; asked for only when an s3:// address is read. */
  s3: () => Promise<S3Client>;
  /** The archives' clients; asked for only when a dicomweb:// address is read. */
  dicomweb: () => Promise<DicomwebServices>;
  /** For http(s):// readers (the CLI's tests); the app reads no http(s) slides. */
  fetch?: FetchLike;
}

export function createSlideSources(settings: Settings, w: SourceWiring): SlideSources {
  const reader = async (uri: string): Promise<RangeReader> =>
    sourceKind(uri) === 's3' ? resolveReader(uri, { settings, s3: await w.s3() }) : resolveReader(uri, { settings, ...(w.fetch ? { fetch: w.fetch } : {}) });
  return {
    reader,
    source: async (uri) => {
      if (sourceKind(uri) !== 'dicomweb') return reader(uri);
      const dicomweb = await w.dicomweb();
      return resolveSource(uri, { settings, dicomweb: (name) => dicomweb.client(name) });
    },
    siblings: (uri) => dicomSiblings(uri, { s3: w.s3, reader }),
  };
}

export interface TileEngine {
  cache: TileCache;
  tiles: TileService;
}

/** The tile cache in paths.cache and the tile service reading through `sources`. Close the service before the cache. */
export function createTileEngine(settings: Settings, sources: SlideSources): TileEngine {
  const cache = TileCache.open(join(settings.paths.cache, TILE_CACHE_FILE), { budgetBytes: settings.cache.budgetMiB * 1024 * 1024 });
  // network.maxConnectionsPerHost bounds the parallel reads to one storage host or archive.
  const parallel = settings.network.maxConnectionsPerHost;
  const tiles = new TileService({
    cache,
    resolve: (uri) => sources.source(uri),
    siblings: (uri) => sources.siblings(uri),
    scheduler: new RangeScheduler({ maxParallelPerHost: parallel }),
    frames: new FrameScheduler({ maxParallelPerPool: parallel }),
  });
  return { cache, tiles };
}
