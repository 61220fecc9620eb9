/**
 * TileService: the one path from "show tile (level, col, row)" to bytes. Cache first;
 * on a miss, the slide reader locates the tile, the scheduler reads its ranges (with
 * priority, cancellation, coalescing) and the tile is assembled and written back.
 *
 * Two kinds of source: RangeReaders (files, S3, HTTP: tiles are byte ranges, read by
 * the RangeScheduler) and FrameSources (DICOMweb series: tiles are frames, read by the
 * FrameScheduler, which batches frames of one instance into multi-frame requests). Both
 * get the same cache, identity (a FrameSource's etag is a digest of the series
 * metadata), offline open and pinning. See docs/decisions/0703-dicomweb-in-the-tile-service.md.
 *
 * Opening: the descriptor is cached under the object's identity (uri + etag). A second
 * open of an unchanged object costs one `stat` and no parsing; the slide reader itself
 * is only built on the first cache miss. When storage cannot be reached and a descriptor
 * for the uri is cached, the slide opens offline and serves what the cache holds.
 *
 * Off the main thread: a reader can mark a tile's location with
 * `meta.worker = { module: <file URL>, export: <name> }`, a pure function
 * `(location, buffers) => EncodedTile`; the service then assembles it in the worker
 * pool. JPEG pass-through stays on the main thread (it is a splice, not a decode).
 *
 * Error codes: TILE_OFFLINE, TILE_OUT_OF_RANGE, TILE_SLIDE_CLOSED; source and format
 * errors pass through unchanged.
 */
import { type AppError, throwIfAborted } from '../common/errors.js';
import { logger } from '../common/log.js';
import type { TileCache, TileKey } from '../cache/tile-cache.js';
import type { AssociatedImageName, EncodedTile, SlideDescriptor, SlideReader, TileLocation } from '../formats/types.js';
import { isFrameSource, type ByteRange, type FrameData, type FrameSource, type ObjectIdentity, type RangeReader, type RangeReadResult } from '../sources/types.js';
import { FrameScheduler } from './frames.js';
import { RangeScheduler, type Priority } from './scheduler.js';
import { WorkerPool } from './workers.js';
import { formatErrors } from '../formats/errors.js';
import { tileErrors } from './errors.js';
import { isNetworkError } from '../common/network.js';

const log = logger('tiles');

/** Cache keys of associated images: their index here is the key's column (level -1). Append only. */
const ASSOCIATED_NAMES: readonly AssociatedImageName[] = ['label', 'macro', 'thumbnail', 'overview', 'map'];

export type Resolver = (uri: string) => Promise<RangeReader | FrameSource>;
export type SlideOpener = (reader: RangeReader, options: { signal?: AbortSignal; siblings?: () => Promise<RangeReader[]> }) => Promise<SlideReader>;
/** The other objects of a DICOM series beside the one opened (main/sources/siblings.ts); undefined: none to look for. */
export type SiblingFinder = (uri: string) => (() => Promise<RangeReader[]>) | undefined;

/** A slide over a FrameSource: it names each tile's frame and assembles the frame the archive sent. */
export interface FrameSlideReader extends SlideReader {
  frameOf(location: TileLocation): { group: string; frame: number };
  assembleFrame(location: TileLocation, frame: FrameData): Promise<EncodedTile>;
  /** A location naming a worker-pool assembler (`meta.worker`) when the frame must be decoded (JPEG 2000). */
  frameJob?(location: TileLocation, frame: FrameData): TileLocation | undefined;
}
export type FrameSlideOpener = (source: FrameSource, options: { signal?: AbortSignal }) => Promise<FrameSlideReader>;

export interface TileServiceOptions {
  cache: TileCache;
  resolve: Resolver;
  /** Default: `openSlide` from main/formats/open.ts. */
  openSlide?: SlideOpener;
  /** Where a DICOM file's series siblings are, so it opens as its series; default: nowhere. */
  siblings?: SiblingFinder;
  /** Default: `openFrameSource` from main/formats/dicomweb/reader.ts. */
  openFrames?: FrameSlideOpener;
  scheduler?: RangeScheduler;
  frames?: FrameScheduler;
  workers?: WorkerPool;
}

export interface TileRequestOptions {
  priority?: Priority;
  signal?: AbortSignal;
}

export interface SlideHandle {
  readonly uri: string;
  readonly descriptor: SlideDescriptor;
  /** The cache's id for this slide version (undefined when the cache is off). */
  readonly cacheId: number | undefined;
  /** Opened from the cache because storage could not be reached. */
  readonly offline: boolean;
  /** How the descriptor was obtained: parsed from storage, or taken from the cache. */
  readonly openedFrom: 'storage' | 'cache';
}

/**
 * A parsed slide, shared by every handle on the same object version and kept for a while
 * after the last one closes: reopening (or a pin job resuming) does not parse again.
 */
interface Parsed {
  key: string;
  source: RangeReader | FrameSource;
  slide: Promise<SlideReader> | undefined;
  users: number;
}

interface HandleState {
  parsed: Parsed | undefined;
  closed: boolean;
}

/** Parsed slides kept open with no handle on them. */
const IDLE_PARSED = 4;

export interface TileServiceStats {
  cache: ReturnType<TileCache['stats']>;
  scheduler: ReturnType<RangeScheduler['stats']>;
  frames: ReturnType<FrameScheduler['stats']>;
  workers: ReturnType<WorkerPool['stats']>;
  tilesFromCache: number;
  tilesFromStorage: number;
}

export class TileService {
  readonly cache: TileCache;
  readonly scheduler: RangeScheduler;
  readonly frames: FrameScheduler;
  readonly workers: WorkerPool;
  #resolve: Resolver;
  #siblings: SiblingFinder | undefined;
  #openSlide: SlideOpener | undefined;
  #openFrames: FrameSlideOpener | undefined;
  #ownWorkers: boolean;
  #handles = new WeakMap<SlideHandle, HandleState>();
  #open = new Set<SlideHandle>();
  #parsed = new Map<string, Parsed>();
  #counts = { tilesFromCache: 0, tilesFromStorage: 0 };

  constructor(options: TileServiceOptions) {
    this.cache = options.cache;
    this.#resolve = options.resolve;
    this.#openSlide = options.openSlide;
    this.#siblings = options.siblings;
    this.#openFrames = options.openFrames;
    this.scheduler = options.scheduler ?? new RangeScheduler();
    this.frames = options.frames ?? new FrameScheduler();
    this.#ownWorkers = !options.workers;
    this.workers = options.workers ?? new WorkerPool();
  }

  async open(uri: string, options: { signal?: AbortSignal } = {}): Promise<SlideHandle> {
    const { signal } = options;
    let reader: RangeReader | FrameSource;
    try {
      reader = await this.#resolve(uri);
    } catch (err) {
      return this.#offline(uri, err);
    }
    const known = this.cache.latestSlide(uri);
    let identity: ObjectIdentity | undefined;
    if (known || this.#hasParsed(uri)) {
      try {
        identity = await reader.stat(signal);
      } catch (err) {
        await reader.close().catch(() => undefined);
        return this.#offline(uri, err);
      }
      const parsed = this.#parsed.get(parsedKey(uri, identity.etag));
      const same = this.cache.findSlide(uri, identity.etag);
      if (parsed) {
        const descriptor = same?.descriptor ?? (await parsed.slide?.catch(() => undefined))?.descriptor;
        if (descriptor) {
          await reader.close().catch(() => undefined);
          const record = same ?? this.cache.putSlide(uri, identity.etag, descriptor).slide;
          return this.#handle(uri, descriptor, record?.id, parsed, false, 'cache');
        }
      }
      if (same?.descriptor) {
        log.debug('slide opened from cached descriptor', { uri });
        return this.#handle(uri, same.descriptor, same.id, this.#share(parsedKey(uri, identity.etag), reader, undefined), false, 'cache');
      }
    }
    // Parsing reads one directory after another on one connection; meanwhile the others
    // the first view's tiles will use are opened, so their handshakes are off its path.
    // (Not on a reopen from the cached descriptor: that is one request and stays one.)
    if (!isFrameSource(reader)) reader.preconnect?.(this.scheduler.parallelism(reader) - 1);
    let slide: SlideReader;
    try {
      // A FrameSource that was not asked `stat` above fetches its metadata once, here, for both identity and layout.
      slide = await this.#parse(reader, signal);
    } catch (err) {
      await reader.close().catch(() => undefined);
      if (isNetworkError(err)) return this.#offline(uri, err);
      throw err;
    }
    const descriptor = slide.descriptor;
    const { slide: record } = this.cache.putSlide(uri, descriptor.identity.etag, descriptor);
    return this.#handle(uri, descriptor, record?.id, this.#share(parsedKey(uri, descriptor.identity.etag), reader, Promise.resolve(slide)), false, 'storage');
  }

  #hasParsed(uri: string): boolean {
    for (const p of this.#parsed.values()) if (p.key.startsWith(`${uri}\u0000`)) return true;
    return false;
  }

  #share(key: string, source: RangeReader | FrameSource, slide: Promise<SlideReader> | undefined): Parsed {
    const old = this.#parsed.get(key);
    if (old && old.users === 0) void this.#closeParsed(old);
    const parsed: Parsed = { key, source, slide, users: 0 };
    this.#parsed.set(key, parsed);
    return parsed;
  }

  async #closeParsed(p: Parsed): Promise<void> {
    if (this.#parsed.get(p.key) === p) this.#parsed.delete(p.key);
    const slide = await p.slide?.catch(() => undefined);
    if (slide) await slide.close().catch(() => undefined);
    // A slide reader closes its RangeReader; a FrameSource belongs to the service.
    if (!slide || isFrameSource(p.source)) await p.source.close().catch(() => undefined);
  }

  #offline(uri: string, err: unknown): SlideHandle {
    const cached = isNetworkError(err) ? this.cache.latestSlide(uri) : undefined;
    if (!cached?.descriptor) throw err;
    log.info('storage unreachable; slide opened from the cache', { uri, cause: err });
    return this.#handle(uri, cached.descriptor, cached.id, undefined, true, 'cache');
  }

  #handle(uri: string, descriptor: SlideDescriptor, cacheId: number | undefined, parsed: Parsed | undefined, offline: boolean, openedFrom: 'storage' | 'cache'): SlideHandle {
    const handle: SlideHandle = Object.freeze({ uri, descriptor, cacheId, offline, openedFrom });
    if (parsed) parsed.users += 1;
    this.#handles.set(handle, { parsed, closed: false });
    this.#open.add(handle);
    return handle;
  }

  #parse(source: RangeReader | FrameSource, signal: AbortSignal | undefined): Promise<SlideReader> {
    const options = signal ? { signal } : {};
    if (isFrameSource(source)) return this.#frameOpener()(source, options);
    const siblings = this.#siblings?.(source.uri);
    return this.#opener()(this.#scheduled(source), { ...options, ...(siblings ? { siblings } : {}) });
  }

  #frameOpener(): FrameSlideOpener {
    if (this.#openFrames) return this.#openFrames;
    return async (source, options) => {
      const { openFrameSource } = await import('../formats/dicomweb/reader.js');
      this.#openFrames = (s, o) => openFrameSource(s, o);
      return openFrameSource(source, options);
    };
  }

  #opener(): SlideOpener {
    if (this.#openSlide) return this.#openSlide;
    return async (reader, options) => {
      const { openSlide } = await import('../formats/open.js');
      this.#openSlide = (r, o) => openSlide(r, o);
      return openSlide(reader, options);
    };
  }

  /** The reader the format parser sees: its own reads (head, offset tables) go through the scheduler too. */
  #scheduled(reader: RangeReader): RangeReader {
    const scheduler = this.scheduler;
    return {
      uri: reader.uri,
      stat: (signal) => reader.stat(signal),
      async read(ranges: readonly ByteRange[], signal?: AbortSignal): Promise<RangeReadResult> {
        const buffers = await scheduler.read(reader, ranges, { priority: 'visible', ...(signal ? { signal } : {}) });
        return { buffers, requests: 0 };
      },
      close: () => reader.close(),
    };
  }

  #state(handle: SlideHandle): HandleState {
    const state = this.#handles.get(handle);
    if (!state || state.closed) throw tileErrors.make('TILE_SLIDE_CLOSED', 'This slide has been closed.', { hint: 'Open the slide again.' });
    return state;
  }

  #slideReader(handle: SlideHandle, state: HandleState, signal: AbortSignal | undefined): Promise<SlideReader> {
    const parsed = state.parsed;
    if (!parsed) throw offlineMiss(handle);
    parsed.slide ??= this.#parse(parsed.source, undefined).catch((err: unknown) => {
      parsed.slide = undefined;
      throw err;
    });
    throwIfAborted(signal);
    return parsed.slide;
  }

  /**
   * A tile: from the cache, or read, assembled and cached. `null` for a tile the slide
   * does not have (sparse DICOM, an empty TIFF tile): the viewer draws background.
   */
  async getTile(handle: SlideHandle, level: number, col: number, row: number, plane = 0, options: TileRequestOptions = {}): Promise<EncodedTile | null> {
    const { signal } = options;
    throwIfAborted(signal);
    const state = this.#state(handle);
    checkRange(handle.descriptor, level, col, row, plane);
    const key: TileKey = { level, col, row, plane };
    if (handle.cacheId !== undefined) {
      const cached = this.cache.getTile(handle.cacheId, key);
      if (cached !== undefined) {
        this.#counts.tilesFromCache += 1;
        return cached;
      }
    }
    const slide = await this.#slideReader(handle, state, signal);
    const location = await slide.locateTile(level, col, row, plane, signal);
    if (!location) {
      if (handle.cacheId !== undefined) this.cache.putTile(handle.cacheId, key, null);
      return null;
    }
    const from = state.parsed!.source;
    const read = { priority: options.priority ?? 'visible', ...(signal ? { signal } : {}) };
    let tile: EncodedTile;
    if (isFrameSource(from)) {
      const frameSlide = slide as FrameSlideReader;
      const ref = frameSlide.frameOf(location);
      const frame = await this.frames.read(from, ref.group, ref.frame, read);
      this.cache.recordFetched(frame.bytes.length);
      const job = frameSlide.frameJob?.(location, frame);
      tile = job ? await this.#assemble(frameSlide, job, [frame.bytes]) : await frameSlide.assembleFrame(location, frame);
    } else {
      const buffers = await this.scheduler.read(location.source ?? from, location.ranges, read);
      this.cache.recordFetched(buffers.reduce((n, b) => n + b.length, 0));
      tile = await this.#assemble(slide, location, buffers);
    }
    this.#counts.tilesFromStorage += 1;
    if (handle.cacheId !== undefined && !state.closed) this.cache.putTile(handle.cacheId, key, tile);
    return tile;
  }

  /**
   * An associated image (label, macro, thumbnail…), cached like a tile under level -1 so
   * the label of a pinned slide is there offline too.
   */
  async getAssociated(handle: SlideHandle, name: AssociatedImageName, options: { signal?: AbortSignal } = {}): Promise<EncodedTile> {
    const { signal } = options;
    const state = this.#state(handle);
    const index = ASSOCIATED_NAMES.indexOf(name);
    if (index < 0 || !handle.descriptor.associated.some((a) => a.name === name)) {
      throw formatErrors.make('FORMAT_NO_ASSOCIATED_IMAGE', `This slide has no ${name} image.`, { details: { name } });
    }
    const key: TileKey = { level: -1, col: index, row: 0, plane: 0 };
    if (handle.cacheId !== undefined) {
      const cached = this.cache.getTile(handle.cacheId, key);
      if (cached) return cached;
    }
    const slide = await this.#slideReader(handle, state, signal);
    const image = await slide.readAssociated(name, signal);
    if (handle.cacheId !== undefined && !state.closed) this.cache.putTile(handle.cacheId, key, image);
    return image;
  }

  /** Whether a tile is in the cache (no counting, no I/O beyond the index). */
  isCached(handle: SlideHandle, level: number, col: number, row: number, plane = 0): boolean {
    return handle.cacheId !== undefined && this.cache.hasTile(handle.cacheId, { level, col, row, plane });
  }

  async #assemble(slide: SlideReader, location: TileLocation, buffers: Uint8Array[]): Promise<EncodedTile> {
    const job = location.meta?.['worker'] as { module?: unknown; export?: unknown } | undefined;
    if (job && typeof job.module === 'string' && typeof job.export === 'string') {
      // The RangeReader in `source` cannot cross threads; the worker gets plain data only.
      const { source: _source, ...plain } = location;
      return this.workers.run<EncodedTile>(job.module, job.export, [plain, buffers]);
    }
    return slide.assembleTile(location, buffers);
  }

  stats(): TileServiceStats {
    return { cache: this.cache.stats(), scheduler: this.scheduler.stats(), frames: this.frames.stats(), workers: this.workers.stats(), ...this.#counts };
  }

  async closeSlide(handle: SlideHandle): Promise<void> {
    const state = this.#handles.get(handle);
    if (!state || state.closed) return;
    state.closed = true;
    this.#open.delete(handle);
    const parsed = state.parsed;
    if (!parsed || --parsed.users > 0) return;
    // Replaced by a newer parse of the same version (two opens raced): nobody can reuse it.
    if (this.#parsed.get(parsed.key) !== parsed) {
      await this.#closeParsed(parsed);
      return;
    }
    // Keep a few idle parsed slides for quick reopening; close the oldest beyond that.
    this.#parsed.delete(parsed.key);
    this.#parsed.set(parsed.key, parsed);
    const idle = [...this.#parsed.values()].filter((p) => p.users === 0);
    for (const p of idle.slice(0, Math.max(0, idle.length - IDLE_PARSED))) await this.#closeParsed(p);
  }

  /** Close every slide and the worker pool (if the service made it). The cache stays open: its owner closes it. */
  async close(): Promise<void> {
    await Promise.all([...this.#open].map((h) => this.closeSlide(h)));
    await Promise.all([...this.#parsed.values()].map((p) => this.#closeParsed(p)));
    this.cache.flush();
    if (this.#ownWorkers) await this.workers.close();
  }
}

function parsedKey(uri: string, etag: string | undefined): string {
  return `${uri}\u0000${etag ?? ''}`;
}

function checkRange(d: SlideDescriptor, level: number, col: number, row: number, plane: number): void {
  const l = d.levels[level];
  const planes = d.pixelKind === 'channels' ? Math.max(1, d.channels.length) : 1;
  const ok = l && [level, col, row, plane].every(Number.isInteger) && col >= 0 && row >= 0 && col < l.columns && row < l.rows && plane >= 0 && plane < planes;
  if (!ok) {
    throw tileErrors.make('TILE_OUT_OF_RANGE', `There is no tile ${col},${row} at level ${level}${plane ? ` in channel ${plane}` : ''} of this slide.`, {
      details: { level, col, row, plane },
    });
  }
}

function offlineMiss(handle: SlideHandle): AppError {
  return tileErrors.make('TILE_OFFLINE', 'This part of the slide is not available offline.', {
    hint: 'Reconnect to load it, or make the slide available offline next time you are connected.',
    details: { uri: handle.uri },
  });
}
