/**
 * The offline manager behind the UI: "available offline" pins (the PinManager of
 * main/tiles/pinning.ts, which downloads and persists), what the cache holds and may
 * hold, and which slides can still be opened when storage cannot be reached.
 *
 * - Pins need the signed-in user's storage credentials, so persisted jobs resume when
 *   someone signs in (`start`) and stop, keeping their state, at sign-out (`stop`).
 * - A job that failed because storage went away resumes by itself when connectivity
 *   comes back; its network failure also tells Connectivity that the app is offline.
 * - Progress reaches the renderer as `pins.changed` with the whole (short) list, at most
 *   every `throttleMs` while tiles arrive and at once when a job changes state.
 * - A slide opened while offline that has nothing in the cache is refused with words
 *   ("not available offline") instead of a viewer full of failed tiles.
 *
 * Error codes: PIN_NOT_FOUND, PIN_BAD_LEVEL, SLIDE_NOT_AVAILABLE_OFFLINE,
 * SETTINGS_LOCKED, SETTINGS_INVALID.
 */
import type { CacheUsage, OfflineSlide, OpenedSlide, PinInfo } from '../api/contract.js';
import { type AppError, isAppError } from '../common/errors.js';
import { logger } from '../common/log.js';
import { SCHEMA } from '../config/schema.js';
import { PinManager, type PinJob, type PinProgress } from '../tiles/pinning.js';
import { isNetworkError } from '../common/network.js';
import type { TileService } from '../tiles/service.js';
import type { Connectivity } from './offline.js';
import type { OpenSlides } from './slides.js';
import { slideName } from './slide-name.js';
import { appErrors } from './errors.js';
import { sourceErrors } from '../sources/errors.js';

const log = logger('pins');
const MiB = 1024 * 1024;
export const BUDGET_KEY = 'cache.budgetMiB';

export interface OfflineManagerOptions {
  tiles: TileService;
  slides: OpenSlides;
  connectivity: Connectivity;
  /** Settings keys locked by IT policy. */
  locked: ReadonlySet<string>;
  /** Keep a new budget for the next start (the user settings file); called after validation. */
  saveBudget: (mib: number) => void;
  /** Default 250 ms. */
  throttleMs?: number;
  /** Passed to PinManager (tests use 1 to advance tile by tile). */
  concurrency?: number;
}

interface SizeBase {
  bytes: number;
  jobBytes: number;
}

export class OfflineManager {
  readonly pins: PinManager;
  #tiles: TileService;
  #slides: OpenSlides;
  #connectivity: Connectivity;
  #locked: ReadonlySet<string>;
  #saveBudget: (mib: number) => void;
  #throttleMs: number;
  #watched = new WeakSet<PinJob>();
  #listeners = new Set<(pins: PinInfo[]) => void>();
  #timer: NodeJS.Timeout | undefined;
  #lastEmit = 0;
  #sizes = new Map<string, SizeBase>();
  /** Jobs that were downloading at sign-out: they carry on at the next sign-in. */
  #suspended = new Set<PinJob>();
  #started = false;
  #offConnectivity: () => void;

  constructor(o: OfflineManagerOptions) {
    this.#tiles = o.tiles;
    this.#slides = o.slides;
    this.#connectivity = o.connectivity;
    this.#locked = o.locked;
    this.#saveBudget = o.saveBudget;
    this.#throttleMs = o.throttleMs ?? 250;
    this.pins = new PinManager(o.tiles, o.concurrency === undefined ? {} : { concurrency: o.concurrency });
    this.#offConnectivity = o.connectivity.onChange((s) => {
      if (s.status === 'online' && this.#started) this.#resumeFailed();
    });
  }

  // ---- lifecycle ------------------------------------------------------------------

  /** A user signed in: persisted jobs come back, those that were downloading carry on. */
  start(): void {
    this.#started = true;
    for (const job of this.pins.resumeAll()) this.#watch(job);
    for (const job of this.#suspended) job.resume();
    this.#suspended.clear();
    this.#changed(true);
  }

  /** Sign-out: stop downloading without forgetting; the next sign-in resumes. */
  async stop(): Promise<void> {
    this.#started = false;
    const running = this.pins.jobs().filter((j) => j.state === 'running');
    for (const j of running) this.#suspended.add(j);
    await Promise.all(running.map((j) => j.suspend()));
  }

  async close(): Promise<void> {
    this.#offConnectivity();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
    await this.pins.close();
  }

  onChange(listener: (pins: PinInfo[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // ---- pins -----------------------------------------------------------------------

  /**
   * The pins. `measure` reads each pin's size from the index (a call from the UI); events
   * do not, so a download's progress never scans the tile index.
   */
  list(options: { measure?: boolean } = {}): PinInfo[] {
    const jobs = this.pins.jobs();
    if (options.measure) for (const j of jobs) this.#refreshSize(j);
    const known = new Set(jobs.map((j) => j.uri));
    // Before the first sign-in the jobs are not loaded yet: show what the cache recorded.
    const persisted = this.#started
      ? []
      : this.#tiles.cache.pinJobs().filter((r) => !known.has(r.uri)).map((r) => ({
          uri: r.uri,
          name: slideName(r.uri),
          state: r.state === 'running' ? ('paused' as const) : r.state,
          done: r.done,
          total: r.total,
          downloadedBytes: r.bytes,
          sizeBytes: this.#tiles.cache.slideBytes(r.slideId).bytes,
          ...minDownsampleOf(r.spec),
          ...(r.error ? { error: { code: 'TILE_PIN_FAILED', message: r.error } } : {}),
        }));
    return [...jobs.map((j) => this.#info(j)), ...persisted].sort((a, b) => a.name.localeCompare(b.name));
  }

  add(uri: string, minDownsample: number | undefined): PinInfo {
    if (minDownsample !== undefined && !(Number.isFinite(minDownsample) && minDownsample >= 1)) {
      throw appErrors.make('PIN_BAD_LEVEL', 'The chosen resolution is not one of the slide’s levels.', { details: { minDownsample } });
    }
    const job = this.pins.pin(uri, minDownsample === undefined || minDownsample <= 1 ? {} : { minDownsample });
    this.#watch(job);
    this.#sizes.delete(uri);
    log.info('slide pinned', { uri, minDownsample });
    this.#changed(true);
    return this.#info(job);
  }

  async pause(uri: string): Promise<PinInfo> {
    const job = this.#job(uri);
    await job.pause();
    this.#changed(true);
    return this.#info(job);
  }

  resume(uri: string): PinInfo {
    const job = this.#job(uri);
    job.resume();
    this.#changed(true);
    return this.#info(job);
  }

  /** Cancel a download or remove a finished pin: the tiles stay as ordinary (evictable) cache. */
  async remove(uri: string): Promise<void> {
    const job = this.#job(uri);
    await job.cancel();
    this.#sizes.delete(uri);
    this.#suspended.delete(job);
    log.info('slide unpinned', { uri });
    this.#changed(true);
  }

  #job(uri: string): PinJob {
    const job = this.pins.get(uri);
    if (!job) throw appErrors.make('PIN_NOT_FOUND', 'This slide is not marked available offline.', { hint: 'Refresh the list of offline slides.', details: { uri } });
    return job;
  }

  #watch(job: PinJob): void {
    if (this.#watched.has(job)) return;
    this.#watched.add(job);
    let last = job.state;
    job.on('progress', (p: PinProgress) => {
      const stateChanged = p.state !== last;
      last = p.state;
      if (stateChanged) this.#sizes.delete(job.uri);
      this.#changed(stateChanged);
    });
    job.on('error', (err: unknown) => {
      // The pin failed because storage went away: that is news for the whole app.
      if (isNetworkError(err)) this.#connectivity.markOffline(err);
    });
  }

  #resumeFailed(): void {
    for (const job of this.pins.jobs()) {
      if (job.state === 'error') {
        log.info('storage is back: resuming the pin', { uri: job.uri });
        job.resume();
      }
    }
    this.#changed(true);
  }

  /** Cached bytes of the job's slide: measured at state changes, estimated from the job's own count in between. */
  #refreshSize(job: PinJob): void {
    const slide = this.#tiles.cache.latestSlide(job.uri);
    const bytes = slide ? this.#tiles.cache.slideBytes(slide.id).bytes : 0;
    this.#sizes.set(job.uri, { bytes, jobBytes: job.progress().bytes });
  }

  #info(job: PinJob): PinInfo {
    const p = job.progress();
    if (!this.#sizes.has(job.uri)) this.#refreshSize(job);
    const base = this.#sizes.get(job.uri)!;
    return {
      uri: job.uri,
      name: slideName(job.uri),
      // A cancelled job is gone from the list; the contract has no such state.
      state: p.state === 'cancelled' ? 'paused' : p.state,
      done: p.done,
      total: p.total,
      downloadedBytes: p.bytes,
      sizeBytes: base.bytes + Math.max(0, p.bytes - base.jobBytes),
      ...minDownsampleOf(job.spec),
      ...(p.error ? { error: p.error } : {}),
    };
  }

  #changed(now: boolean): void {
    if (this.#listeners.size === 0) return;
    const wait = now ? 0 : Math.max(0, this.#lastEmit + this.#throttleMs - Date.now());
    if (wait === 0) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#emit();
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#emit();
    }, wait);
  }

  #emit(): void {
    this.#lastEmit = Date.now();
    const pins = this.list();
    for (const l of this.#listeners) {
      try {
        l(pins);
      } catch (err) {
        log.error('pins listener failed', { err });
      }
    }
  }

  // ---- cache ----------------------------------------------------------------------

  usage(): CacheUsage {
    const cache = this.#tiles.cache;
    const s = cache.stats();
    const pinned = cache.pinnedUsage();
    return {
      bytes: s.sizeBytes,
      entries: s.entries,
      budget: s.budgetBytes,
      pinnedBytes: pinned.bytes,
      pinnedSlides: pinned.slides,
      budgetLocked: this.#locked.has(BUDGET_KEY),
      state: s.state,
      ...(s.error ? { error: s.error } : {}),
    };
  }

  /** "Clear cache": offline slides are kept unless `includePinned`, which also cancels their downloads. */
  async clear(includePinned: boolean): Promise<CacheUsage> {
    if (includePinned) {
      await Promise.all(this.pins.jobs().map((j) => j.cancel()));
      this.#suspended.clear();
      this.#tiles.cache.clearAll();
    } else {
      this.#tiles.cache.clearUnpinned();
    }
    this.#sizes.clear();
    log.info('cache cleared', { includePinned });
    this.#changed(true);
    return this.usage();
  }

  setBudget(mib: number): CacheUsage {
    if (this.#locked.has(BUDGET_KEY)) {
      throw appErrors.make('SETTINGS_LOCKED', 'The cache size is set by your organisation and cannot be changed here.', {
        hint: 'Ask IT if the workstation needs a larger cache.',
      });
    }
    const problem = SCHEMA[BUDGET_KEY]?.(mib, BUDGET_KEY);
    if (problem) throw appErrors.make('SETTINGS_INVALID', `The cache size ${String(mib)} MiB is not allowed: it ${problem}.`, { details: { mib } });
    this.#tiles.cache.setBudget(mib * MiB);
    log.info('cache budget changed', { mib });
    // Applied first: if the settings file cannot be written, the budget still holds until the app closes.
    this.#saveBudget(mib);
    return this.usage();
  }

  // ---- offline --------------------------------------------------------------------

  /** Slides the cache can show without storage: pinned and complete ("full"), or some tiles ("partial"). */
  offlineSlides(): OfflineSlide[] {
    const jobs = new Map(this.pins.jobs().map((j) => [j.uri, j]));
    const records = new Map(this.#tiles.cache.pinJobs().map((r) => [r.uri, r]));
    const seen = new Set<string>();
    const out: OfflineSlide[] = [];
    for (const u of this.#tiles.cache.slideUsage()) {
      if (seen.has(u.uri)) continue;
      seen.add(u.uri);
      if (!u.pinned && u.tiles === 0) continue;
      const state = jobs.get(u.uri)?.state ?? records.get(u.uri)?.state;
      out.push({
        uri: u.uri,
        name: slideName(u.uri),
        availability: u.pinned && state === 'done' ? 'full' : 'partial',
        pinned: u.pinned,
        ...(u.pinned && state && state !== 'cancelled' ? { pinState: state } : {}),
        ...minDownsampleOf(u.pinSpec),
        tiles: u.tiles,
        bytes: u.bytes,
      });
    }
    return out.sort((a, b) => Number(b.availability === 'full') - Number(a.availability === 'full') || a.name.localeCompare(b.name));
  }

  /**
   * A pinned slide replaced in storage: the cache dropped the old version's tiles and
   * job and carried the pin to the new version (TileCache.putSlide), so download that
   * version now, with the same extent, or it would only be partly available offline.
   */
  #repinIfReplaced(openId: string): void {
    const handle = this.#slides.get(openId);
    if (handle?.cacheId === undefined) return;
    const cache = this.#tiles.cache;
    const record = cache.slideById(handle.cacheId);
    if (!record?.pinned || cache.pinJobs().some((r) => r.slideId === record.id)) return;
    const job = this.pins.get(handle.uri);
    // A job under way has not recorded itself yet; it is already on this version.
    if (job && job.state !== 'done') return;
    const spec = minDownsampleOf(record.pinSpec);
    log.info('a pinned slide changed in storage: downloading the new version', { uri: handle.uri });
    void (async () => {
      if (job) await job.cancel();
      this.add(handle.uri, spec.minDownsample);
    })().catch((err: unknown) => log.warn('re-pinning the new version failed', { uri: handle.uri, err }));
  }

  /**
   * Open a slide for the viewer, learning about connectivity on the way. Offline, a slide
   * with no cached tiles (never viewed, or cleared) is refused in words.
   */
  async open(uri: string): Promise<OpenedSlide> {
    let opened: OpenedSlide;
    try {
      opened = await this.#connectivity.observe(() => this.#slides.open(uri));
    } catch (err) {
      if (isNetworkError(err)) throw notOffline(uri, err);
      throw err;
    }
    if (!opened.offline) {
      this.#connectivity.markOnline();
      this.#repinIfReplaced(opened.id);
      return opened;
    }
    this.#connectivity.markOffline(sourceErrors.make('SOURCE_UNREACHABLE', 'Storage could not be reached when the slide was opened.'));
    const handle = this.#slides.get(opened.id);
    const record = handle?.cacheId === undefined ? undefined : this.#tiles.cache.slideById(handle.cacheId);
    const held = handle?.cacheId === undefined ? 0 : this.#tiles.cache.slideBytes(handle.cacheId).tiles;
    if (!record?.pinned && held === 0) {
      await this.#slides.close(opened.id);
      throw notOffline(uri, undefined);
    }
    return opened;
  }
}

function notOffline(uri: string, cause: unknown): AppError {
  return appErrors.make('SLIDE_NOT_AVAILABLE_OFFLINE', `${slideName(uri)} is not available offline: storage cannot be reached and this computer holds no copy of it.`, {
    hint: 'Open it again when the network is back. To read a slide without a network, make it available offline beforehand.',
    details: { uri },
    retryable: true,
    ...(cause === undefined || (isAppError(cause) && cause.code === 'SLIDE_NOT_AVAILABLE_OFFLINE') ? {} : { cause }),
  });
}

function minDownsampleOf(spec: unknown): { minDownsample?: number } {
  const v = (spec as { minDownsample?: unknown } | undefined)?.minDownsample;
  return typeof v === 'number' && v > 1 ? { minDownsample: v } : {};
}
