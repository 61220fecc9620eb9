/**
 * Range-read scheduling over RangeReaders: what to fetch, in which order, in how many
 * requests. The batch scheduler (batch-scheduler.ts) with the range strategy: a batch is
 * one read of a span that covers neighbouring ranges. It knows nothing about tiles or the cache (unlike geotiff.js' BlockedSource,
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
import type { ByteRange, RangeReader } from '../sources/types.js';
import { BatchScheduler, type BatchStrategy, type BatchWant } from './batch-scheduler.js';
import { abortedError, type Pool, type Priority } from './pools.js';
import { tileErrors } from './errors.js';

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

type Want = BatchWant<RangeReader, ByteRange, Uint8Array>;

/** A batch is one span over the seed and its queued neighbours; each range gets its slice. */
export function rangeStrategy(opts: { coalesceGapBytes: number; maxMergedBytes: number; hostOf: (reader: RangeReader) => string }): BatchStrategy<RangeReader, ByteRange, Uint8Array> {
  return {
    pool: opts.hostOf,
    key: (range) => `${range.offset}:${range.length}`,
    group: (_pool: Pool<Want>, seed, peers) => coalesce(seed, peers, opts.coalesceGapBytes, opts.maxMergedBytes),
    async send(reader, ranges, signal) {
      const offset = Math.min(...ranges.map((r) => r.offset));
      const end = Math.max(...ranges.map((r) => r.offset + r.length));
      const result = await reader.read([{ offset, length: end - offset }], signal);
      const buf = result.buffers[0] ?? new Uint8Array(0);
      const answers = ranges.map((r) => {
        const from = Math.min(buf.length, r.offset - offset);
        const to = Math.min(buf.length, from + r.length);
        // A slice of a merged span is copied so one cached tile cannot pin the whole span in memory.
        return ranges.length === 1 ? buf.subarray(from, to) : buf.slice(from, to);
      });
      return { answers, requests: 1, bytes: buf.length };
    },
    failed: (reader) => `Reading slide data from ${reader.uri} failed.`,
    miscounted: (reader, asked, got) => tileErrors.make('TILE_READ_FAILED', `Reading slide data from ${reader.uri} answered ${got} ranges where ${asked} were asked.`),
    // One span is one read: there is nothing smaller to retry.
    retryAlone: () => false,
  };
}

/** The seed plus queued neighbours of the same object and priority, within the gap and size bounds. */
function coalesce(seed: Want, queued: Want[], gap: number, max: number): Want[] {
  const peers = [...queued].sort((a, b) => a.req.offset - b.req.offset);
  let lo = peers.indexOf(seed);
  let hi = lo;
  let start = seed.req.offset;
  let end = seed.req.offset + seed.req.length;
  for (;;) {
    const next = peers[hi + 1]?.req;
    if (!next || next.offset - end > gap || Math.max(end, next.offset + next.length) - start > max) break;
    end = Math.max(end, next.offset + next.length);
    hi += 1;
  }
  for (;;) {
    const prev = peers[lo - 1]?.req;
    // Sorted by offset, so prev starts at or before `start`; it may also reach past `end`.
    if (!prev || start - (prev.offset + prev.length) > gap || Math.max(end, prev.offset + prev.length) - prev.offset > max) break;
    start = prev.offset;
    end = Math.max(end, prev.offset + prev.length);
    lo -= 1;
  }
  return peers.slice(lo, hi + 1);
}

export class RangeScheduler {
  readonly #core: BatchScheduler<RangeReader, ByteRange, Uint8Array>;

  constructor(options: SchedulerOptions = {}) {
    const maxParallel = options.maxParallelPerHost ?? 6;
    this.#core = new BatchScheduler(
      rangeStrategy({
        coalesceGapBytes: options.coalesceGapBytes ?? 64 * 1024,
        maxMergedBytes: options.maxMergedBytes ?? 1024 * 1024,
        hostOf: options.hostOf ?? defaultHost,
      }),
      { limitFor: (name) => Math.max(1, options.parallelFor?.(name) ?? maxParallel), delayMs: options.batchDelayMs ?? 0 },
    );
  }

  /** Read `ranges` of `reader`; buffers come back in request order (shorter past the end of the object). */
  read(reader: RangeReader, ranges: readonly ByteRange[], options: ReadOptions = {}): Promise<Uint8Array[]> {
    if (options.signal?.aborted) return Promise.reject(abortedError(options.signal));
    return Promise.all(ranges.map((range) => (range.length <= 0 ? Promise.resolve(new Uint8Array(0)) : this.#core.read(reader, range, options))));
  }

  /** How many reads may be in flight at once to this reader's host. */
  parallelism(reader: RangeReader): number {
    return this.#core.parallelism(reader);
  }

  stats(): SchedulerStats {
    const s = this.#core.stats();
    return {
      requests: s.requests, bytesFetched: s.bytesFetched, rangesRequested: s.requested, rangesCoalesced: s.batched,
      rangesDeduplicated: s.deduplicated, cancelledQueued: s.cancelledQueued, abortedInFlight: s.abortedInFlight,
      failed: s.failed, queued: s.queued, inFlight: s.inFlight,
    };
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
