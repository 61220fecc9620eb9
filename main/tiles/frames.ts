/**
 * Frame scheduling over FrameSources (DICOMweb series): the range scheduler's ideas
 * (scheduler.ts) for an archive whose unit is "frame N of instance I", where one WADO-RS
 * request can carry many frames of one instance. Callers ask for single frames, one tile
 * at a time, as the viewer asks for tiles; the scheduler turns them into few requests.
 *
 * - Priorities: visible > prefetch > pinning, with a queue per archive (pool), so a pin
 *   job never delays the visible tiles of another slide on the same archive. A visible
 *   waiter joining a queued pinning frame promotes it.
 * - Batching: requests are collected for `batchDelayMs` (default 4 ms: the tile requests
 *   of one viewport reach main over several event-loop turns; 4 ms is under a tenth of a
 *   50 ms round trip); then queued frames of the same instance and priority go out in one
 *   multi-frame request. With several connections free, a group is spread over them
 *   (ceil(n / free), at least `minFramesPerRequest`) so the archive works on them in
 *   parallel; never more than `maxFramesPerRequest` (default 32) in one request, so one
 *   slow answer does not hold a whole viewport and the URL stays short.
 * - De-duplication: the same frame of the same source, queued or in flight, is read once.
 * - Cancellation: a frame whose waiters all gave up (AbortSignal) never leaves the queue;
 *   an in-flight request is aborted only when none of its frames is wanted any more.
 * - Bounded parallelism per archive (default 6, as browsers per HTTP/1.1 origin).
 * - One bad frame does not blank a viewport: a multi-frame request refused for its
 *   content (not found, bad answer, bad request) is retried one frame per request.
 *
 * Error codes: ABORTED (the caller cancelled), TILE_READ_FAILED (wrapping a foreign
 * failure; AppErrors from the source pass through unchanged).
 */
import { type AppError, assertNever, isAppError, toAppError, type ErrorKind } from '../common/errors.js';
import type { FrameData, FrameSource } from '../sources/types.js';
import { abortedError, ObjectIds, Pools, RANK, settleWaiters, type Pool as PoolOf, type Priority } from './pools.js';
import { tileErrors } from './errors.js';


export interface FrameSchedulerOptions {
  /** Parallel requests per archive (FrameSource.pool). Default 6. */
  maxParallelPerPool?: number;
  /** Per-pool override (an HTTP/2 archive can take more). */
  parallelFor?: (pool: string) => number | undefined;
  /** Most frames in one request. Default 32 (the client splits past 64 anyway). */
  maxFramesPerRequest?: number;
  /** Fewest frames a group is split down to when spreading it over free connections. Default 4. */
  minFramesPerRequest?: number;
  /** How long to collect requests before dispatching. Default 4 ms; 0 = the next macrotask. */
  batchDelayMs?: number;
  /** Whether a failed multi-frame request should be retried frame by frame. Default: content errors (not found, bad answer, bad request). */
  retryAlone?: (err: AppError) => boolean;
}

export interface FrameReadOptions {
  priority?: Priority;
  signal?: AbortSignal;
}

export interface FrameSchedulerStats {
  /** Requests sent to archives (as FrameSource.readFrames counted them). */
  requests: number;
  /** readFrames calls (one per batch; a call may be several requests past the client's per-request limit). */
  batches: number;
  bytesFetched: number;
  /** Distinct frames asked for (after de-duplication). */
  framesRequested: number;
  /** Frames that rode along in another frame's request. */
  framesBatched: number;
  /** Frames answered by a read already queued or in flight. */
  framesDeduplicated: number;
  /** Frames retried alone after their multi-frame request was refused. */
  framesRetriedAlone: number;
  cancelledQueued: number;
  abortedInFlight: number;
  failed: number;
  queued: number;
  inFlight: number;
}

interface Waiter {
  resolve: (frame: FrameData) => void;
  reject: (err: unknown) => void;
}

interface Want {
  id: string;
  source: FrameSource;
  pool: Pool;
  group: string;
  frame: number;
  rank: number;
  seq: number;
  /** Retry after a refused batch: always read alone. */
  solo: boolean;
  waiters: Set<Waiter>;
  batch: Batch | undefined;
}

interface Batch {
  wants: Want[];
  controller: AbortController;
}

type Pool = PoolOf<Want>;

export class FrameScheduler {
  #opts: Required<Omit<FrameSchedulerOptions, 'parallelFor'>> & Pick<FrameSchedulerOptions, 'parallelFor'>;
  #pools: Pools<Want>;
  #wants = new Map<string, Want>();
  #sourceIds = new ObjectIds<FrameSource>();
  #seq = 0;
  #stats = {
    requests: 0, batches: 0, bytesFetched: 0, framesRequested: 0, framesBatched: 0, framesDeduplicated: 0,
    framesRetriedAlone: 0, cancelledQueued: 0, abortedInFlight: 0, failed: 0,
  };

  constructor(options: FrameSchedulerOptions = {}) {
    const max = Math.max(1, options.maxFramesPerRequest ?? 32);
    this.#opts = {
      maxParallelPerPool: options.maxParallelPerPool ?? 6,
      parallelFor: options.parallelFor,
      maxFramesPerRequest: max,
      minFramesPerRequest: Math.min(max, Math.max(1, options.minFramesPerRequest ?? 4)),
      batchDelayMs: options.batchDelayMs ?? 4,
      retryAlone: options.retryAlone ?? ((err) => retryAloneByKind(err.kind)),
    };
    this.#pools = new Pools<Want>({
      limitFor: (name) => this.#opts.parallelFor?.(name) ?? this.#opts.maxParallelPerPool,
      delayMs: this.#opts.batchDelayMs,
      group: (pool, seed) => this.#gather(pool, seed),
      start: (pool, wants) => this.#start(pool, wants),
    });
  }

  /** One frame (1-based) of one group (instance) of `source`. */
  read(source: FrameSource, group: string, frame: number, options: FrameReadOptions = {}): Promise<FrameData> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortedError(signal));
    const rank = RANK[options.priority ?? 'visible'];
    const id = `${this.#sourceId(source)}\u0000${group}\u0000${frame}`;
    let want = this.#wants.get(id);
    if (want) {
      this.#stats.framesDeduplicated += 1;
      if (!want.batch && rank < want.rank) want.rank = rank;
    } else {
      const pool = this.#pool(source.pool);
      want = { id, source, pool, group, frame, rank, seq: this.#seq++, solo: false, waiters: new Set(), batch: undefined };
      this.#wants.set(id, want);
      pool.queue.add(want);
      this.#stats.framesRequested += 1;
    }
    const w = want;
    const promise = new Promise<FrameData>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      w.waiters.add(waiter);
      if (signal) {
        const onAbort = (): void => this.#dropWaiter(w, waiter, abortedError(signal));
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.resolve = (f) => {
          signal.removeEventListener('abort', onAbort);
          resolve(f);
        };
        waiter.reject = (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        };
      }
    });
    this.#pools.schedule();
    return promise;
  }

  stats(): FrameSchedulerStats {
    return { ...this.#stats, ...this.#pools.counts() };
  }

  #sourceId(source: FrameSource): number {
    return this.#sourceIds.of(source);
  }

  #pool(name: string): Pool {
    return this.#pools.get(name);
  }

  #dropWaiter(want: Want, waiter: Waiter, reason: AppError): void {
    if (!want.waiters.delete(waiter)) return;
    waiter.reject(reason);
    if (want.waiters.size > 0) return;
    if (!want.batch) {
      want.pool.queue.delete(want);
      if (this.#wants.get(want.id) === want) this.#wants.delete(want.id);
      this.#stats.cancelledQueued += 1;
      return;
    }
    const batch = want.batch;
    if (batch.wants.every((w) => w.waiters.size === 0) && !batch.controller.signal.aborted) {
      // Forget its frames now so a new request for them starts a fresh read.
      for (const w of batch.wants) if (this.#wants.get(w.id) === w) this.#wants.delete(w.id);
      this.#stats.abortedInFlight += 1;
      batch.controller.abort(reason);
    }
  }

  /** The seed and the queued frames of the same source, instance and priority, in request order. */
  #gather(pool: Pool, seed: Want): Want[] {
    if (seed.solo) return [seed];
    const peers = [...pool.queue]
      .filter((w) => !w.solo && w.source === seed.source && w.group === seed.group && w.rank === seed.rank)
      .sort((a, b) => a.seq - b.seq);
    const free = pool.limit - pool.active;
    const { minFramesPerRequest: min, maxFramesPerRequest: max } = this.#opts;
    const size = Math.min(max, Math.max(min, Math.ceil(peers.length / free)));
    return peers.slice(0, size);
  }

  #start(pool: Pool, wants: Want[]): void {
    const batch: Batch = { wants, controller: new AbortController() };
    for (const w of wants) {
      pool.queue.delete(w);
      w.batch = batch;
    }
    this.#stats.framesBatched += wants.length - 1;
    this.#stats.batches += 1;
    pool.active += 1;
    const first = wants[0]!;
    // The connection is free again before any waiter hears back, so stats and the next dispatch see it free.
    let freed = false;
    const free = (): void => {
      if (freed) return;
      freed = true;
      pool.active -= 1;
      this.#pools.schedule();
    };
    try {
      void first.source.readFrames(first.group, wants.map((w) => w.frame), batch.controller.signal).then(
        (result) => {
          free();
          this.#stats.requests += result.requests;
          this.#stats.bytesFetched += result.bytes;
          if (result.frames.length !== wants.length) {
            throw tileErrors.make('TILE_READ_FAILED', `The archive answered ${result.frames.length} frames where ${wants.length} were asked.`, {
              details: { uri: first.source.uri, asked: wants.length, got: result.frames.length },
            });
          }
          wants.forEach((w, i) => settleWaiters(this.#wants, w, (waiter: Waiter) => waiter.resolve(result.frames[i]!)));
        },
      ).catch((err: unknown) => {
        free();
        this.#failed(pool, batch, err);
      });
    } catch (err) {
      // A source that throws instead of rejecting: same path, one turn later (waiters attach first).
      void Promise.resolve().then(() => {
        free();
        this.#failed(pool, batch, err);
      });
    }
  }

  #failed(pool: Pool, batch: Batch, err: unknown): void {
    const { wants, controller } = batch;
    if (controller.signal.aborted) {
      for (const w of wants) settleWaiters(this.#wants, w, (waiter: Waiter) => waiter.reject(abortedError(controller.signal)));
      return;
    }
    const first = wants[0]!;
    const error = toAppError(err, tileErrors, 'TILE_READ_FAILED', `Reading frames of ${first.source.uri} failed.`);
    const alive = wants.filter((w) => w.waiters.size > 0);
    if (wants.length > 1 && !isAppError(err, 'ABORTED') && this.#opts.retryAlone(error)) {
      // Which frame the archive objected to is unknown: ask each alone, in their places in the queue.
      for (const w of wants) if (w.waiters.size === 0 && this.#wants.get(w.id) === w) this.#wants.delete(w.id);
      for (const w of alive) {
        w.batch = undefined;
        w.solo = true;
        pool.queue.add(w);
      }
      this.#stats.framesRetriedAlone += alive.length;
      return;
    }
    this.#stats.failed += 1;
    for (const w of wants) settleWaiters(this.#wants, w, (waiter: Waiter) => waiter.reject(error));
  }

}


/**
 * Whether a batch that failed is worth splitting into single frames: an answer about the
 * content (one frame missing or unreadable spoils a multipart batch) is; a connection,
 * sign-in or access failure would fail every frame alike, and a busy archive must not
 * get 32 requests instead of one.
 */
export function retryAloneByKind(kind: ErrorKind): boolean {
  switch (kind) {
    case 'not-found':
    case 'invalid-input':
      return true;
    case 'unreachable':
    case 'busy':
    case 'denied':
    case 'signin-needed':
    case 'unsupported':
    case 'conflict':
    case 'cancelled':
    case 'internal':
      return false;
    default:
      return assertNever(kind);
  }
}
