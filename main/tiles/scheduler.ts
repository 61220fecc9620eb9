/**
 * Range-read scheduling over RangeReaders: what to fetch, in which order, in how many
 * requests. It knows nothing about tiles or the cache (unlike geotiff.js' BlockedSource,
 * which mixes the two): callers ask for byte ranges with a priority and an AbortSignal.
 *
 * - Priorities: visible > prefetch > pinning. The queue is per host, so a pinning job
 *   on one slide never starves the visible tiles of another slide on the same server.
 * - Batching tick: requests are collected until the next macrotask (or `batchDelayMs`)
 *   so a viewport's worth of tiles can be merged.
 * - Coalescing: queued ranges of the same object and priority whose gap is at most
 *   `coalesceGapBytes` are read as one span (bounded by `maxMergedBytes`).
 * - De-duplication: an identical range that is queued or in flight gets a second waiter
 *   instead of a second read; a higher-priority waiter promotes a queued range.
 * - Cancellation: a cancelled queued range never reaches the network; an in-flight read
 *   is aborted only when no waiter of any range it carries is left.
 * - Bounded parallelism per host (default 6, what browsers allow per HTTP/1.1 origin):
 *   on a 50 ms / 20 Mbit/s link six streams keep the pipe full while the queue still
 *   decides what goes next.
 *
 * Error codes: ABORTED (the caller cancelled), TILE_READ_FAILED (wrapping a foreign
 * failure; AppErrors from the source pass through unchanged).
 */
import { toAppError, type AppError } from '../common/errors.js';
import { tileErrors } from './errors.js';
import type { ByteRange, RangeReader } from '../sources/types.js';
import { abortedError, ObjectIds, Pools, RANK, settleWaiters, type Pool, type Priority } from './pools.js';

export type { Priority } from './pools.js';


export interface SchedulerOptions {
  /** Parallel reads per host. Default 6. */
  maxParallelPerHost?: number;
  /** Per-host override (for example a higher limit for HTTP/2 endpoints or local files). */
  parallelFor?: (host: string) => number | undefined;
  /** Largest gap between two ranges that is still read as one span. Default 64 KiB. */
  coalesceGapBytes?: number;
  /** Largest merged span. Default 1 MiB: about 0.4 s at 20 Mbit/s, so one slow span never holds a viewport hostage. */
  maxMergedBytes?: number;
  /** How long to collect requests before dispatching. 0 (default) = the next macrotask. */
  batchDelayMs?: number;
  /** Which connection pool a reader belongs to. Default: the URI's host (`file:` for local files). */
  hostOf?: (reader: RangeReader) => string;
}

export interface ReadOptions {
  priority?: Priority;
  signal?: AbortSignal;
}

export interface SchedulerStats {
  /** `read` calls issued to RangeReaders. */
  requests: number;
  bytesFetched: number;
  /** Ranges callers asked for (after de-duplication, before coalescing). */
  rangesRequested: number;
  /** Ranges that rode along in another range's read. */
  rangesCoalesced: number;
  /** Ranges answered by a read already queued or in flight. */
  rangesDeduplicated: number;
  cancelledQueued: number;
  abortedInFlight: number;
  failed: number;
  queued: number;
  inFlight: number;
}

interface Waiter {
  rank: number;
  resolve: (bytes: Uint8Array) => void;
  reject: (err: unknown) => void;
}

interface Want {
  id: string;
  reader: RangeReader;
  host: Host;
  offset: number;
  length: number;
  rank: number;
  seq: number;
  waiters: Set<Waiter>;
  fetch: Fetch | undefined;
}

interface Fetch {
  wants: Want[];
  controller: AbortController;
  offset: number;
  length: number;
}

type Host = Pool<Want>;

export class RangeScheduler {
  #opts: Required<Omit<SchedulerOptions, 'parallelFor'>> & Pick<SchedulerOptions, 'parallelFor'>;
  #hosts: Pools<Want>;
  #wants = new Map<string, Want>();
  #readerIds = new ObjectIds<RangeReader>();
  #seq = 0;
  #stats = { requests: 0, bytesFetched: 0, rangesRequested: 0, rangesCoalesced: 0, rangesDeduplicated: 0, cancelledQueued: 0, abortedInFlight: 0, failed: 0 };

  constructor(options: SchedulerOptions = {}) {
    this.#opts = {
      maxParallelPerHost: options.maxParallelPerHost ?? 6,
      parallelFor: options.parallelFor,
      coalesceGapBytes: options.coalesceGapBytes ?? 64 * 1024,
      maxMergedBytes: options.maxMergedBytes ?? 1024 * 1024,
      batchDelayMs: options.batchDelayMs ?? 0,
      hostOf: options.hostOf ?? defaultHost,
    };
    this.#hosts = new Pools<Want>({
      limitFor: (name) => this.#opts.parallelFor?.(name) ?? this.#opts.maxParallelPerHost,
      delayMs: this.#opts.batchDelayMs,
      group: (pool, seed) => this.#coalesce(pool, seed),
      start: (pool, wants) => this.#start(pool, wants),
    });
  }

  /** Read `ranges` of `reader`; buffers come back in request order (shorter past the end of the object). */
  read(reader: RangeReader, ranges: readonly ByteRange[], options: ReadOptions = {}): Promise<Uint8Array[]> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortedError(signal));
    const rank = RANK[options.priority ?? 'visible'];
    const host = this.#host(reader);
    const mine: { want: Want; waiter: Waiter }[] = [];
    const promises = ranges.map((range) => {
      if (range.length <= 0) return Promise.resolve(new Uint8Array(0));
      return new Promise<Uint8Array>((resolve, reject) => {
        const waiter: Waiter = { rank, resolve, reject };
        const id = `${this.#readerId(reader)}:${range.offset}:${range.length}`;
        let want = this.#wants.get(id);
        if (want) {
          this.#stats.rangesDeduplicated += 1;
          if (!want.fetch && rank < want.rank) want.rank = rank;
        } else {
          want = { id, reader, host, offset: range.offset, length: range.length, rank, seq: this.#seq++, waiters: new Set(), fetch: undefined };
          this.#wants.set(id, want);
          host.queue.add(want);
          this.#stats.rangesRequested += 1;
        }
        want.waiters.add(waiter);
        mine.push({ want, waiter });
      });
    });
    if (signal) {
      const onAbort = (): void => {
        for (const { want, waiter } of mine) this.#dropWaiter(want, waiter, abortedError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const detach = (): void => signal.removeEventListener('abort', onAbort);
      void Promise.allSettled(promises).then(detach);
    }
    this.#hosts.schedule();
    return Promise.all(promises);
  }

  /** How many reads may be in flight at once to this reader's host. */
  parallelism(reader: RangeReader): number {
    return this.#host(reader).limit;
  }

  stats(): SchedulerStats {
    return { ...this.#stats, ...this.#hosts.counts() };
  }

  #readerId(reader: RangeReader): number {
    return this.#readerIds.of(reader);
  }

  #host(reader: RangeReader): Host {
    return this.#hosts.get(this.#opts.hostOf(reader));
  }

  #dropWaiter(want: Want, waiter: Waiter, reason: AppError): void {
    if (!want.waiters.delete(waiter)) return;
    waiter.reject(reason);
    if (want.waiters.size > 0) return;
    if (!want.fetch) {
      // Still queued: it simply never goes out.
      want.host.queue.delete(want);
      this.#wants.delete(want.id);
      this.#stats.cancelledQueued += 1;
      return;
    }
    const fetch = want.fetch;
    if (fetch.wants.every((w) => w.waiters.size === 0) && !fetch.controller.signal.aborted) {
      // Forget its ranges now so a new request for them starts a fresh read.
      for (const w of fetch.wants) if (this.#wants.get(w.id) === w) this.#wants.delete(w.id);
      this.#stats.abortedInFlight += 1;
      fetch.controller.abort(reason);
    }
  }

  /** The seed plus queued neighbours of the same object and priority, within the gap and size bounds. */
  #coalesce(host: Host, seed: Want): Want[] {
    const { coalesceGapBytes: gap, maxMergedBytes: max } = this.#opts;
    const peers = [...host.queue].filter((w) => w.reader === seed.reader && w.rank === seed.rank).sort((a, b) => a.offset - b.offset);
    let lo = peers.indexOf(seed);
    let hi = lo;
    let start = seed.offset;
    let end = seed.offset + seed.length;
    for (;;) {
      const next = peers[hi + 1];
      if (!next || next.offset - end > gap || Math.max(end, next.offset + next.length) - start > max) break;
      end = Math.max(end, next.offset + next.length);
      hi += 1;
    }
    for (;;) {
      const prev = peers[lo - 1];
      // Sorted by offset, so prev starts at or before `start`; it may also reach past `end`.
      if (!prev || start - (prev.offset + prev.length) > gap || Math.max(end, prev.offset + prev.length) - prev.offset > max) break;
      start = prev.offset;
      end = Math.max(end, prev.offset + prev.length);
      lo -= 1;
    }
    return peers.slice(lo, hi + 1);
  }

  #start(host: Host, wants: Want[]): void {
    const offset = Math.min(...wants.map((w) => w.offset));
    const end = Math.max(...wants.map((w) => w.offset + w.length));
    const fetch: Fetch = { wants, controller: new AbortController(), offset, length: end - offset };
    for (const w of wants) {
      host.queue.delete(w);
      w.fetch = fetch;
    }
    this.#stats.rangesCoalesced += wants.length - 1;
    this.#stats.requests += 1;
    host.active += 1;
    const reader = wants[0]!.reader;
    reader
      .read([{ offset, length: fetch.length }], fetch.controller.signal)
      .then(
        (result) => {
          const buf = result.buffers[0] ?? new Uint8Array(0);
          this.#stats.bytesFetched += buf.length;
          for (const w of wants) {
            const from = Math.min(buf.length, w.offset - offset);
            const to = Math.min(buf.length, from + w.length);
            // A slice of a merged span is copied so one cached tile cannot pin the whole span in memory.
            const bytes = wants.length === 1 ? buf.subarray(from, to) : buf.slice(from, to);
            settleWaiters(this.#wants, w, (waiter: Waiter) => waiter.resolve(bytes));
          }
        },
        (err: unknown) => {
          if (fetch.controller.signal.aborted) {
            for (const w of wants) settleWaiters(this.#wants, w, (waiter: Waiter) => waiter.reject(abortedError(fetch.controller.signal)));
            return;
          }
          this.#stats.failed += 1;
          const error = toAppError(err, tileErrors, 'TILE_READ_FAILED', `Reading slide data from ${reader.uri} failed.`);
          for (const w of wants) settleWaiters(this.#wants, w, (waiter: Waiter) => waiter.reject(error));
        },
      )
      .finally(() => {
        host.active -= 1;
        this.#hosts.schedule();
      });
  }

}


function defaultHost(reader: RangeReader): string {
  try {
    const url = new URL(reader.uri);
    return url.protocol === 'file:' ? 'file:' : `${url.protocol}//${url.host}`;
  } catch {
    return reader.uri;
  }
}
