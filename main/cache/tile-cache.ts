/**
 * The disposable SQLite tile cache: slide descriptors keyed by object identity (uri +
 * etag), tile blobs with a checksum, a byte budget with LRU eviction that never touches
 * pinned slides, and the state of pin jobs so they resume after a restart.
 *
 * Everything here is synchronous better-sqlite3 on purpose: point reads by key take
 * microseconds and an async hop would cost more than the read. Writes are queued and
 * flushed in small transactions (N tiles or a few ms), so no single call holds the event
 * loop for long and the WAL never grows without bound.
 *
 * Failure policy (the cache holds nothing the user would lose):
 * - corrupt or unreadable file: moved aside, a fresh cache is created, a warning logged;
 * - a row whose length or CRC does not match: deleted, counted, never served;
 * - full disk (SQLITE_FULL): evict and retry once, then the cache turns itself off with
 *   CACHE_DISK_FULL (reads miss, writes are dropped) and the app keeps working.
 *
 * Error codes: CACHE_DISK_FULL, CACHE_IO, CACHE_CORRUPT_RECOVERED (warning only),
 * CACHE_CLOSED.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { type AppError } from '../common/errors.js';
import { logger } from '../common/log.js';
import type { EncodedTile, SlideDescriptor, TileEncoding } from '../formats/types.js';
import { SCHEMA_SQL, SCHEMA_VERSION } from './schema.js';
import { cacheErrors } from './errors.js';

const log = logger('cache');

export interface TileKey {
  level: number;
  col: number;
  row: number;
  plane: number;
}

export interface TileCacheOptions {
  /** Payload bytes the cache may hold before LRU eviction (pinned slides do not count against eviction). Default 2 GiB. */
  budgetBytes?: number;
  /** Flush the write queue after this many tiles. Default 64. */
  flushTiles?: number;
  /** …or this long after the first queued tile. Default 20 ms. */
  flushDelayMs?: number;
  /** …or when the queue holds this many bytes (bounds memory). Default 16 MiB. */
  maxQueueBytes?: number;
  /** Hard cap on the database file (SQLite max_page_count); past it writes fail as on a full disk. */
  maxDbBytes?: number;
}

export interface SlideRecord {
  id: number;
  uri: string;
  etag: string;
  descriptor: SlideDescriptor | undefined;
  pinned: boolean;
  pinSpec: unknown;
}

export interface PinJobRecord {
  slideId: number;
  uri: string;
  spec: unknown;
  state: 'running' | 'paused' | 'error' | 'done';
  done: number;
  total: number;
  bytes: number;
  error: string | undefined;
}

export interface SlideUsage {
  slideId: number;
  uri: string;
  pinned: boolean;
  pinSpec: unknown;
  tiles: number;
  bytes: number;
}

export interface CacheStats {
  state: 'ok' | 'disabled';
  error: { code: string; message: string } | undefined;
  hits: number;
  misses: number;
  bytesServed: number;
  bytesFetched: number;
  entries: number;
  sizeBytes: number;
  budgetBytes: number;
  evictedTiles: number;
  corruptDropped: number;
  recoveredFiles: number;
  pendingWrites: number;
}

interface Pending {
  slideId: number;
  key: TileKey;
  tile: EncodedTile | null;
}

interface Statements {
  getTile: Database.Statement<[number, number, number, number, number]>;
  hasTile: Database.Statement<[number, number, number, number, number]>;
  oldSize: Database.Statement<[number, number, number, number, number]>;
  upsertTile: Database.Statement<unknown[]>;
  touchTile: Database.Statement<[number, number]>;
  deleteTile: Database.Statement<[number]>;
  lruBatch: Database.Statement<[number]>;
  findSlide: Database.Statement<[string, string]>;
  latestSlide: Database.Statement<[string]>;
  slideById: Database.Statement<[number]>;
  otherVersions: Database.Statement<[string, string]>;
  insertSlide: Database.Statement<[string, string, string | null, number]>;
  updateDescriptor: Database.Statement<[string | null, number, number]>;
  touchSlide: Database.Statement<[number, number]>;
  deleteSlide: Database.Statement<[number]>;
  slideBytes: Database.Statement<[number]>;
  setPinned: Database.Statement<[number, string | null, number]>;
  putJob: Database.Statement<unknown[]>;
  allJobs: Database.Statement<[]>;
  deleteJob: Database.Statement<[number]>;
}

interface TileRow {
  id: number;
  mime: string;
  encoding: string;
  width: number;
  height: number;
  size: number;
  crc: number;
  blob: Buffer;
}

interface SlideRow {
  id: number;
  uri: string;
  etag: string;
  descriptor: string | null;
  pinned: number;
  pin_spec: string | null;
}

const EMPTY_MIME = '';
/** Bound on the verified-row set (about 20 MB); past it, rows are simply checked again. */
const MAX_VERIFIED = 500_000;
const encodings = new Map<string, TileEncoding>();

/** Encodings are a handful of distinct JSON strings: parse each once. */
function parseEncoding(json: string): TileEncoding {
  let e = encodings.get(json);
  if (!e) {
    e = JSON.parse(json) as TileEncoding;
    if (encodings.size < 256) encodings.set(json, e);
  }
  return { ...e };
}

export class TileCache {
  readonly path: string;
  #db!: Database.Database;
  #st!: Statements;
  #opts: Required<Omit<TileCacheOptions, 'maxDbBytes'>> & { maxDbBytes: number | undefined };
  #queue = new Map<string, Pending>();
  #queueBytes = 0;
  #touched = new Map<number, number>();
  /**
   * Rows whose CRC was checked in this session. The length is checked on every read;
   * the CRC (about 0.5 GB/s with zlib's crc32, as much as the read itself) once per row
   * per session: SQLite's WAL already makes each commit atomic, the CRC is there for
   * damage to the file between sessions.
   */
  #verified = new Set<number>();
  #timer: NodeJS.Timeout | undefined;
  #clock = 0;
  #size = 0;
  #entries = 0;
  #disabled: AppError | undefined;
  #closed = false;
  #flushesSinceCheckpoint = 0;
  #stats = { hits: 0, misses: 0, bytesServed: 0, bytesFetched: 0, evictedTiles: 0, corruptDropped: 0, recoveredFiles: 0 };

  private constructor(path: string, options: TileCacheOptions) {
    this.path = path;
    this.#opts = {
      budgetBytes: options.budgetBytes ?? 2 * 1024 ** 3,
      flushTiles: options.flushTiles ?? 64,
      flushDelayMs: options.flushDelayMs ?? 20,
      maxQueueBytes: options.maxQueueBytes ?? 16 * 1024 ** 2,
      maxDbBytes: options.maxDbBytes,
    };
  }

  /** Open (or create) the cache at `path`. Never throws for a bad file: it is replaced. */
  static open(path: string, options: TileCacheOptions = {}): TileCache {
    const cache = new TileCache(path, options);
    // Label and macro images carry patient identifiers: the folder is the user's alone
    // (0700, also when an older version created it), the database files 0600.
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    ownerOnly(dirname(path), 0o700);
    try {
      cache.#connect();
    } catch (err) {
      if (!isCorruption(err) && !isSqlite(err, 'SQLITE_CANTOPEN')) {
        cache.#disable(cacheErrors.make('CACHE_IO', `The tile cache at ${path} cannot be opened; slides will load without it.`, {
          cause: err,
          hint: 'Check that the cache folder is writable, or choose another cache folder in the settings.',
        }));
        return cache;
      }
      cache.#recover(err);
    }
    return cache;
  }

  #connect(): void {
    // Created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the
    // database file's mode, so they are owner-only from their first byte too.
    closeSync(openSync(this.path, 'a', 0o600));
    ownerOnly(this.path, 0o600);
    const db = new Database(this.path, { timeout: 5000 });
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      // Truncate the WAL after checkpoints so it does not keep its high-water size.
      db.pragma('journal_size_limit = 67108864');
      db.pragma('cache_size = -16000');
      // Memory-mapped reads: blobs are served from the OS page cache without a copy
      // through SQLite's own cache (the warm-read path is what the viewer waits on).
      db.pragma('mmap_size = 1073741824');
      if (this.#opts.maxDbBytes !== undefined) {
        const pageSize = Number(db.pragma('page_size', { simple: true }));
        db.pragma(`max_page_count = ${Math.max(16, Math.floor(this.#opts.maxDbBytes / pageSize))}`);
      }
      const version = readVersion(db);
      if (version !== undefined && version !== SCHEMA_VERSION) {
        // Disposable: an old layout is dropped rather than migrated.
        db.exec('DROP TABLE IF EXISTS pin_jobs; DROP TABLE IF EXISTS tiles; DROP TABLE IF EXISTS slides; DROP TABLE IF EXISTS meta;');
      }
      db.exec(SCHEMA_SQL);
      db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)").run(String(SCHEMA_VERSION));
      const totals = db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes, COALESCE(MAX(last_access), 0) AS clock FROM tiles').get() as {
        n: number;
        bytes: number;
        clock: number;
      };
      const slideClock = (db.prepare('SELECT COALESCE(MAX(last_access), 0) AS c FROM slides').get() as { c: number }).c;
      this.#entries = totals.n;
      this.#size = totals.bytes;
      this.#clock = Math.max(totals.clock, slideClock);
      this.#db = db;
      this.#st = prepare(db);
      for (const extra of ['-wal', '-shm']) if (existsSync(this.path + extra)) ownerOnly(this.path + extra, 0o600);
    } catch (err) {
      try {
        db.close();
      } catch {
        // already unusable; the caller decides what to do with the file
      }
      throw err;
    }
  }

  /** Move a bad cache file aside (keeping only the latest one for a bug report) and start fresh. */
  #recover(cause: unknown): void {
    try {
      this.#db?.close();
    } catch {
      // closing a corrupt handle may fail; we are replacing it anyway
    }
    const dir = dirname(this.path);
    const name = basename(this.path);
    for (const f of safeReaddir(dir)) if (f.startsWith(`${name}.corrupt-`)) rmSync(join(dir, f), { force: true });
    const aside = `${this.path}.corrupt-${Date.now()}`;
    try {
      if (existsSync(this.path)) renameSync(this.path, aside);
      for (const suffix of ['-wal', '-shm']) rmSync(this.path + suffix, { force: true });
    } catch (err) {
      this.#disable(cacheErrors.make('CACHE_IO', `The damaged tile cache at ${this.path} could not be moved aside; slides will load without the cache.`, { cause: err }));
      return;
    }
    this.#queue.clear();
    this.#queueBytes = 0;
    this.#touched.clear();
    this.#verified.clear();
    this.#stats.recoveredFiles += 1;
    log.warn('The tile cache was damaged and has been replaced by an empty one (it only held copies of remote data).', {
      code: 'CACHE_CORRUPT_RECOVERED',
      path: this.path,
      movedTo: aside,
      cause,
    });
    try {
      this.#connect();
    } catch (err) {
      this.#disable(cacheErrors.make('CACHE_IO', `A fresh tile cache could not be created at ${this.path}; slides will load without it.`, { cause: err }));
    }
  }

  #disable(error: AppError): void {
    if (!this.#disabled) log.error('Tile cache turned off', { code: error.code, message: error.message, cause: error.cause });
    this.#disabled = error;
    this.#queue.clear();
    this.#queueBytes = 0;
    this.#touched.clear();
  }

  /** Route an SQLite failure: corruption → recover, anything else → disable. Returns true when the cache is usable again. */
  #onError(err: unknown): void {
    if (isCorruption(err)) {
      this.#recover(err);
      return;
    }
    if (isSqlite(err, 'SQLITE_FULL')) {
      this.#disable(diskFull(err));
      return;
    }
    this.#disable(cacheErrors.make('CACHE_IO', 'The tile cache failed and has been turned off; slides keep loading from storage.', { cause: err, retryable: true }));
  }

  get usable(): boolean {
    return !this.#disabled && !this.#closed;
  }

  /** Why the cache is off, when it is. */
  get error(): AppError | undefined {
    return this.#disabled;
  }

  // ---- slides -------------------------------------------------------------------

  findSlide(uri: string, etag: string | undefined): SlideRecord | undefined {
    if (!this.usable) return undefined;
    try {
      const row = this.#st.findSlide.get(uri, etag ?? '') as SlideRow | undefined;
      if (row) this.#st.touchSlide.run(++this.#clock, row.id);
      return row && toSlide(row);
    } catch (err) {
      this.#onError(err);
      return undefined;
    }
  }

  /** The most recently used version of `uri`: what an offline open falls back to. */
  latestSlide(uri: string): SlideRecord | undefined {
    if (!this.usable) return undefined;
    try {
      const row = this.#st.latestSlide.get(uri) as SlideRow | undefined;
      return row && toSlide(row);
    } catch (err) {
      this.#onError(err);
      return undefined;
    }
  }

  slideById(id: number): SlideRecord | undefined {
    if (!this.usable) return undefined;
    try {
      const row = this.#st.slideById.get(id) as SlideRow | undefined;
      return row && toSlide(row);
    } catch (err) {
      this.#onError(err);
      return undefined;
    }
  }

  /**
   * Record the slide version we are looking at. Other versions of the same uri (the
   * object was replaced in storage) are dropped with their tiles; a pin carries over to
   * the new version so "available offline" survives, and its job restarts.
   */
  putSlide(uri: string, etag: string | undefined, descriptor: SlideDescriptor | undefined): { slide: SlideRecord | undefined; invalidated: number } {
    if (!this.usable) return { slide: undefined, invalidated: 0 };
    const tag = etag ?? '';
    try {
      this.flush();
      let invalidated = 0;
      const run = this.#db.transaction(() => {
        const old = this.#st.otherVersions.all(uri, tag) as SlideRow[];
        let carriedPin: string | null = null;
        for (const o of old) {
          if (o.pinned) carriedPin = o.pin_spec ?? '{}';
          const bytes = this.#st.slideBytes.get(o.id) as { n: number; bytes: number };
          this.#size -= bytes.bytes;
          this.#entries -= bytes.n;
          this.#st.deleteSlide.run(o.id);
          invalidated += 1;
        }
        const json = descriptor === undefined ? null : JSON.stringify(descriptor);
        const existing = this.#st.findSlide.get(uri, tag) as SlideRow | undefined;
        let id: number;
        if (existing) {
          id = existing.id;
          if (json !== null) this.#st.updateDescriptor.run(json, ++this.#clock, id);
        } else {
          id = Number(this.#st.insertSlide.run(uri, tag, json, ++this.#clock).lastInsertRowid);
        }
        if (carriedPin !== null) this.#st.setPinned.run(1, carriedPin, id);
        return id;
      });
      const id = run();
      if (invalidated > 0) log.info('A slide changed in storage; its cached tiles were dropped.', { uri, etag: tag, versions: invalidated });
      return { slide: this.slideById(id), invalidated };
    } catch (err) {
      this.#onError(err);
      return { slide: undefined, invalidated: 0 };
    }
  }

  setPinned(slideId: number, spec: unknown): void {
    if (!this.usable) return;
    try {
      this.#st.setPinned.run(spec === undefined ? 0 : 1, spec === undefined ? null : JSON.stringify(spec), slideId);
    } catch (err) {
      this.#onError(err);
    }
  }

  // ---- tiles --------------------------------------------------------------------

  /**
   * A cached tile, `null` for a tile known to be empty, `undefined` on a miss. Counts
   * hits and misses. A row that fails its length/CRC check is deleted and reported as
   * a miss.
   */
  getTile(slideId: number, key: TileKey): EncodedTile | null | undefined {
    if (!this.usable) {
      this.#stats.misses += 1;
      return undefined;
    }
    const queued = this.#queue.get(queueKey(slideId, key));
    if (queued) return this.#hit(queued.tile);
    let row: TileRow | undefined;
    try {
      row = this.#st.getTile.get(slideId, key.level, key.col, key.row, key.plane) as TileRow | undefined;
    } catch (err) {
      this.#onError(err);
      row = undefined;
    }
    if (!row) {
      this.#stats.misses += 1;
      return undefined;
    }
    if (row.blob.length !== row.size || (!this.#verified.has(row.id) && (crc32(row.blob) | 0) !== row.crc)) {
      this.#dropBad(row, slideId, key);
      this.#stats.misses += 1;
      return undefined;
    }
    if (this.#verified.size >= MAX_VERIFIED) this.#verified.clear();
    this.#verified.add(row.id);
    this.#touched.set(row.id, ++this.#clock);
    this.#schedule();
    if (row.mime === EMPTY_MIME) return this.#hit(null);
    const tile: EncodedTile = {
      ...key,
      width: row.width,
      height: row.height,
      encoding: parseEncoding(row.encoding),
      mime: row.mime,
      bytes: row.blob,
    };
    return this.#hit(tile);
  }

  #hit(tile: EncodedTile | null): EncodedTile | null {
    this.#stats.hits += 1;
    if (tile) this.#stats.bytesServed += tile.bytes.length;
    return tile;
  }

  #dropBad(row: TileRow, slideId: number, key: TileKey): void {
    this.#stats.corruptDropped += 1;
    log.warn('A cached tile failed its integrity check and was dropped; it will be fetched again.', { slideId, ...key });
    try {
      this.#st.deleteTile.run(row.id);
      this.#verified.delete(row.id);
      this.#size -= row.size;
      this.#entries -= 1;
    } catch (err) {
      this.#onError(err);
    }
  }

  /** Whether a tile is cached, without counting a hit or miss (pinning uses it to skip work). */
  hasTile(slideId: number, key: TileKey): boolean {
    if (!this.usable) return false;
    if (this.#queue.has(queueKey(slideId, key))) return true;
    try {
      return this.#st.hasTile.get(slideId, key.level, key.col, key.row, key.plane) !== undefined;
    } catch (err) {
      this.#onError(err);
      return false;
    }
  }

  /** Queue a tile (or `null`: known empty) for the next batched write. */
  putTile(slideId: number, key: TileKey, tile: EncodedTile | null): void {
    if (!this.usable) return;
    const k = queueKey(slideId, key);
    const prev = this.#queue.get(k);
    if (prev?.tile) this.#queueBytes -= prev.tile.bytes.length;
    this.#queue.set(k, { slideId, key: { level: key.level, col: key.col, row: key.row, plane: key.plane }, tile });
    this.#queueBytes += tile?.bytes.length ?? 0;
    if (this.#queue.size >= this.#opts.flushTiles || this.#queueBytes >= this.#opts.maxQueueBytes) this.flush();
    else this.#schedule();
  }

  /** Bytes that came from storage (the tile service reports them so one stats call tells the story). */
  recordFetched(bytes: number): void {
    this.#stats.bytesFetched += bytes;
  }

  #schedule(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, this.#opts.flushDelayMs);
    this.#timer.unref();
  }

  /** Write the queue in one transaction; evict to the budget; checkpoint now and then. */
  flush(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (!this.usable || (this.#queue.size === 0 && this.#touched.size === 0)) return;
    const batch = [...this.#queue.values()];
    const touched = [...this.#touched.entries()];
    this.#queue.clear();
    this.#queueBytes = 0;
    this.#touched.clear();
    const batchBytes = batch.reduce((n, p) => n + (p.tile?.bytes.length ?? 0), 0);
    try {
      this.#writeBatch(batch, touched);
    } catch (err) {
      if (!isSqlite(err, 'SQLITE_FULL')) {
        this.#onError(err);
        return;
      }
      // Full disk (or the configured cap): make room once and retry; if that is not
      // enough the cache steps aside instead of failing tile loads.
      const freed = this.#evict(Math.max(batchBytes * 2, Math.floor(this.#size / 4)));
      log.warn('The tile cache hit a full disk; evicted old tiles and retrying once.', { freedBytes: freed });
      try {
        this.#writeBatch(batch, touched);
      } catch (err2) {
        this.#onError(err2);
        return;
      }
    }
    try {
      if (this.#size > this.#opts.budgetBytes) this.#evict(this.#size - Math.floor(this.#opts.budgetBytes * 0.9));
      if (++this.#flushesSinceCheckpoint >= 32) {
        this.#flushesSinceCheckpoint = 0;
        this.#db.pragma('wal_checkpoint(PASSIVE)');
      }
    } catch (err) {
      this.#onError(err);
    }
  }

  #writeBatch(batch: Pending[], touched: [number, number][]): void {
    let sizeDelta = 0;
    let entryDelta = 0;
    this.#db.transaction(() => {
      for (const p of batch) {
        const { level, col, row, plane } = p.key;
        const old = this.#st.oldSize.get(p.slideId, level, col, row, plane) as { size: number } | undefined;
        const bytes = p.tile ? p.tile.bytes : new Uint8Array(0);
        const blob = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        this.#st.upsertTile.run(
          p.slideId, level, col, row, plane,
          p.tile ? p.tile.mime : EMPTY_MIME,
          p.tile ? JSON.stringify(p.tile.encoding) : 'null',
          p.tile?.width ?? 0, p.tile?.height ?? 0,
          blob.length, crc32(blob) | 0, ++this.#clock, blob,
        );
        sizeDelta += blob.length - (old?.size ?? 0);
        if (!old) entryDelta += 1;
      }
      for (const [id, clock] of touched) this.#st.touchTile.run(clock, id);
    })();
    this.#size += sizeDelta;
    this.#entries += entryDelta;
  }

  /** Delete least-recently-used tiles of unpinned slides until `bytes` are freed (or none are left). */
  #evict(bytes: number): number {
    let freed = 0;
    while (freed < bytes) {
      const victims = this.#st.lruBatch.all(256) as { id: number; size: number }[];
      if (victims.length === 0) break;
      this.#db.transaction(() => {
        for (const v of victims) {
          if (freed >= bytes) break;
          this.#st.deleteTile.run(v.id);
          this.#verified.delete(v.id);
          freed += v.size;
          this.#size -= v.size;
          this.#entries -= 1;
          this.#stats.evictedTiles += 1;
        }
      })();
    }
    return freed;
  }

  // ---- pin jobs -----------------------------------------------------------------

  putPinJob(job: PinJobRecord): void {
    if (!this.usable) return;
    try {
      this.#st.putJob.run(job.slideId, job.uri, JSON.stringify(job.spec ?? {}), job.state, job.done, job.total, job.bytes, job.error ?? null, Date.now());
    } catch (err) {
      this.#onError(err);
    }
  }

  pinJobs(): PinJobRecord[] {
    if (!this.usable) return [];
    try {
      return (this.#st.allJobs.all() as { slide_id: number; uri: string; spec: string; state: PinJobRecord['state']; done: number; total: number; bytes: number; error: string | null }[]).map((r) => ({
        slideId: r.slide_id,
        uri: r.uri,
        spec: JSON.parse(r.spec) as unknown,
        state: r.state,
        done: r.done,
        total: r.total,
        bytes: r.bytes,
        error: r.error ?? undefined,
      }));
    } catch (err) {
      this.#onError(err);
      return [];
    }
  }

  deletePinJob(slideId: number): void {
    if (!this.usable) return;
    try {
      this.#st.deleteJob.run(slideId);
    } catch (err) {
      this.#onError(err);
    }
  }

  // ---- usage (offline manager) ---------------------------------------------------

  /**
   * Every slide version with a descriptor, with what the cache holds of it: the slides
   * that can still be opened when storage is unreachable. One pass over the tile index;
   * meant for a list on screen, not for a progress loop.
   */
  slideUsage(): SlideUsage[] {
    if (!this.usable) return [];
    try {
      this.flush();
      const rows = this.#db
        .prepare(
          `SELECT s.id, s.uri, s.pinned, s.pin_spec, s.last_access, COUNT(t.id) AS tiles, COALESCE(SUM(t.size), 0) AS bytes
           FROM slides s LEFT JOIN tiles t ON t.slide_id = s.id
           WHERE s.descriptor IS NOT NULL GROUP BY s.id ORDER BY s.last_access DESC`,
        )
        .all() as { id: number; uri: string; pinned: number; pin_spec: string | null; last_access: number; tiles: number; bytes: number }[];
      return rows.map((r) => ({
        slideId: r.id,
        uri: r.uri,
        pinned: r.pinned === 1,
        pinSpec: r.pin_spec === null ? undefined : (JSON.parse(r.pin_spec) as unknown),
        tiles: r.tiles,
        bytes: r.bytes,
      }));
    } catch (err) {
      this.#onError(err);
      return [];
    }
  }

  /** Pinned slides and the bytes their tiles take: a scan of the pinned slides' tiles only, through the index. */
  pinnedUsage(): { slides: number; tiles: number; bytes: number } {
    if (!this.usable) return { slides: 0, tiles: 0, bytes: 0 };
    try {
      this.flush();
      const slides = (this.#db.prepare('SELECT COUNT(*) AS n FROM slides WHERE pinned = 1').get() as { n: number }).n;
      const t = this.#db
        .prepare('SELECT COUNT(t.id) AS n, COALESCE(SUM(t.size), 0) AS bytes FROM slides s JOIN tiles t ON t.slide_id = s.id WHERE s.pinned = 1')
        .get() as { n: number; bytes: number };
      return { slides, tiles: t.n, bytes: t.bytes };
    } catch (err) {
      this.#onError(err);
      return { slides: 0, tiles: 0, bytes: 0 };
    }
  }

  /** Tiles and bytes cached for one slide version (an index range scan, cheap per slide). */
  slideBytes(slideId: number): { tiles: number; bytes: number } {
    if (!this.usable) return { tiles: 0, bytes: 0 };
    try {
      this.flush();
      const r = this.#st.slideBytes.get(slideId) as { n: number; bytes: number };
      return { tiles: r.n, bytes: r.bytes };
    } catch (err) {
      this.#onError(err);
      return { tiles: 0, bytes: 0 };
    }
  }

  /**
   * Drop every tile, pinned ones too, and unpin everything ("Clear cache" with "also
   * offline slides"). Slide rows (descriptors, a few KB) stay, like in clearUnpinned.
   */
  clearAll(): void {
    if (!this.usable) return;
    this.flush();
    try {
      this.#db.exec('DELETE FROM pin_jobs; DELETE FROM tiles; UPDATE slides SET pinned = 0, pin_spec = NULL;');
      this.#entries = 0;
      this.#size = 0;
      this.#verified.clear();
      this.#db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      this.#onError(err);
    }
  }

  // ---- housekeeping ---------------------------------------------------------------

  stats(): CacheStats {
    return {
      state: this.#disabled ? 'disabled' : 'ok',
      error: this.#disabled && { code: this.#disabled.code, message: this.#disabled.message },
      ...this.#stats,
      entries: this.#entries + this.#queue.size,
      sizeBytes: this.#size + this.#queueBytes,
      budgetBytes: this.#opts.budgetBytes,
      pendingWrites: this.#queue.size,
    };
  }

  setBudget(bytes: number): void {
    this.#opts.budgetBytes = bytes;
    this.flush();
    if (this.usable && this.#size > bytes) {
      try {
        this.#evict(this.#size - Math.floor(bytes * 0.9));
      } catch (err) {
        this.#onError(err);
      }
    }
  }

  /**
   * Drop every tile of unpinned slides ("Clear cache" in the offline manager). The slide
   * rows stay: a viewer may have the slide open, and its next tile write would otherwise
   * break the foreign key and turn the cache off.
   */
  clearUnpinned(): void {
    if (!this.usable) return;
    this.flush();
    try {
      this.#db.exec('DELETE FROM tiles WHERE slide_id IN (SELECT id FROM slides WHERE pinned = 0 AND id NOT IN (SELECT slide_id FROM pin_jobs))');
      this.#verified.clear();
      const t = this.#db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM tiles').get() as { n: number; bytes: number };
      this.#entries = t.n;
      this.#size = t.bytes;
      this.#db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      this.#onError(err);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    try {
      if (!this.#disabled) this.#db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // a checkpoint failing at close loses nothing: the WAL is replayed on next open
    }
    try {
      this.#db?.close();
    } catch {
      // nothing useful to do at shutdown
    }
  }
}

function prepare(db: Database.Database): Statements {
  return {
    getTile: db.prepare('SELECT id, mime, encoding, width, height, size, crc, blob FROM tiles WHERE slide_id = ? AND level = ? AND col = ? AND row = ? AND plane = ?'),
    hasTile: db.prepare('SELECT 1 FROM tiles WHERE slide_id = ? AND level = ? AND col = ? AND row = ? AND plane = ?'),
    oldSize: db.prepare('SELECT size FROM tiles WHERE slide_id = ? AND level = ? AND col = ? AND row = ? AND plane = ?'),
    upsertTile: db.prepare(
      `INSERT INTO tiles (slide_id, level, col, row, plane, mime, encoding, width, height, size, crc, last_access, blob)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (slide_id, level, col, row, plane) DO UPDATE SET
         mime = excluded.mime, encoding = excluded.encoding, width = excluded.width, height = excluded.height,
         size = excluded.size, crc = excluded.crc, last_access = excluded.last_access, blob = excluded.blob`,
    ),
    touchTile: db.prepare('UPDATE tiles SET last_access = ? WHERE id = ?'),
    deleteTile: db.prepare('DELETE FROM tiles WHERE id = ?'),
    lruBatch: db.prepare(
      'SELECT t.id, t.size FROM tiles t JOIN slides s ON s.id = t.slide_id WHERE s.pinned = 0 ORDER BY t.last_access LIMIT ?',
    ),
    findSlide: db.prepare('SELECT id, uri, etag, descriptor, pinned, pin_spec FROM slides WHERE uri = ? AND etag = ?'),
    latestSlide: db.prepare(
      'SELECT id, uri, etag, descriptor, pinned, pin_spec FROM slides WHERE uri = ? AND descriptor IS NOT NULL ORDER BY last_access DESC LIMIT 1',
    ),
    slideById: db.prepare('SELECT id, uri, etag, descriptor, pinned, pin_spec FROM slides WHERE id = ?'),
    otherVersions: db.prepare('SELECT id, uri, etag, descriptor, pinned, pin_spec FROM slides WHERE uri = ? AND etag <> ?'),
    insertSlide: db.prepare('INSERT INTO slides (uri, etag, descriptor, last_access) VALUES (?, ?, ?, ?)'),
    updateDescriptor: db.prepare('UPDATE slides SET descriptor = ?, last_access = ? WHERE id = ?'),
    touchSlide: db.prepare('UPDATE slides SET last_access = ? WHERE id = ?'),
    deleteSlide: db.prepare('DELETE FROM slides WHERE id = ?'),
    slideBytes: db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM tiles WHERE slide_id = ?'),
    setPinned: db.prepare('UPDATE slides SET pinned = ?, pin_spec = ? WHERE id = ?'),
    putJob: db.prepare(
      `INSERT INTO pin_jobs (slide_id, uri, spec, state, done, total, bytes, error, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (slide_id) DO UPDATE SET uri = excluded.uri, spec = excluded.spec, state = excluded.state, done = excluded.done,
         total = excluded.total, bytes = excluded.bytes, error = excluded.error, updated = excluded.updated`,
    ),
    allJobs: db.prepare('SELECT slide_id, uri, spec, state, done, total, bytes, error FROM pin_jobs ORDER BY updated'),
    deleteJob: db.prepare('DELETE FROM pin_jobs WHERE slide_id = ?'),
  };
}

function readVersion(db: Database.Database): number | undefined {
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
  if (!hasMeta) return undefined;
  const row = db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as { value: string } | undefined;
  return row ? Number(row.value) : undefined;
}

function toSlide(row: SlideRow): SlideRecord {
  return {
    id: row.id,
    uri: row.uri,
    etag: row.etag,
    descriptor: row.descriptor === null ? undefined : (JSON.parse(row.descriptor) as SlideDescriptor),
    pinned: row.pinned === 1,
    pinSpec: row.pin_spec === null ? undefined : (JSON.parse(row.pin_spec) as unknown),
  };
}

function queueKey(slideId: number, k: TileKey): string {
  return `${slideId}/${k.level}/${k.col}/${k.row}/${k.plane}`;
}

function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function isSqlite(err: unknown, code: string): boolean {
  const c = sqliteCode(err);
  return c === code || (c?.startsWith(`${code}_`) ?? false);
}

function isCorruption(err: unknown): boolean {
  return isSqlite(err, 'SQLITE_CORRUPT') || isSqlite(err, 'SQLITE_NOTADB');
}

function diskFull(cause: unknown): AppError {
  return cacheErrors.make('CACHE_DISK_FULL', 'The disk holding the tile cache is full, so the cache has been turned off. Slides still open, but load from storage every time.', {
    hint: 'Free some disk space or lower the cache size in the settings, then restart the app.',
    cause,
  });
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** chmod where the platform has POSIX modes (Windows keeps the folder's ACL: the user profile). */
function ownerOnly(path: string, mode: number): void {
  if (process.platform === 'win32') return;
  try {
    chmodSync(path, mode);
  } catch {
    // Not ours to change (a folder IT provisioned for another account): the cache still
    // works, and SQLite reports it if it cannot write.
  }
}
