/**
 * Frame scheduling over FrameSources (DICOMweb series): the batch scheduler
 * (batch-scheduler.ts) with the frame strategy, for an archive whose unit is "frame N of instance I", where one WADO-RS
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
import { assertNever, type AppError, type ErrorKind } from '../common/errors.js';
import type { FrameData, FrameSource } from '../sources/types.js';
import { BatchScheduler, type BatchStrategy, type BatchWant } from './batch-scheduler.js';
import type { Pool, Priority } from './pools.js';
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

/** Frame `frame` (1-based) of instance `group`. */
interface FrameRef {
  group: string;
  frame: number;
}

type Want = BatchWant<FrameSource, FrameRef, FrameData>;

/** A batch is one readFrames call for frames of one instance, spread over the free connections. */
export function frameStrategy(opts: { minFramesPerRequest: number; maxFramesPerRequest: number; retryAlone: (err: AppError) => boolean }): BatchStrategy<FrameSource, FrameRef, FrameData> {
  return {
    pool: (source) => source.pool,
    key: (ref) => `${ref.group}\u0000${ref.frame}`,
    group(pool: Pool<Want>, seed, peers) {
      const same = peers.filter((w) => w.req.group === seed.req.group);
      const free = pool.limit - pool.active;
      const size = Math.min(opts.maxFramesPerRequest, Math.max(opts.minFramesPerRequest, Math.ceil(same.length / free)));
      return same.slice(0, size);
    },
    async send(source, refs, signal) {
      const result = await source.readFrames(refs[0]!.group, refs.map((r) => r.frame), signal);
      return { answers: result.frames, requests: result.requests, bytes: result.bytes };
    },
    failed: (source) => `Reading frames of ${source.uri} failed.`,
    miscounted: (source, asked, got) => tileErrors.make('TILE_READ_FAILED', `The archive answered ${got} frames where ${asked} were asked.`, {
      details: { uri: source.uri, asked, got },
    }),
    retryAlone: opts.retryAlone,
  };
}

export class FrameScheduler {
  readonly #core: BatchScheduler<FrameSource, FrameRef, FrameData>;

  constructor(options: FrameSchedulerOptions = {}) {
    const max = Math.max(1, options.maxFramesPerRequest ?? 32);
    const maxParallel = options.maxParallelPerPool ?? 6;
    this.#core = new BatchScheduler(
      frameStrategy({
        maxFramesPerRequest: max,
        minFramesPerRequest: Math.min(max, Math.max(1, options.minFramesPerRequest ?? 4)),
        retryAlone: options.retryAlone ?? ((err) => retryAloneByKind(err.kind)),
      }),
      { limitFor: (name) => options.parallelFor?.(name) ?? maxParallel, delayMs: options.batchDelayMs ?? 4 },
    );
  }

  /** One frame (1-based) of one group (instance) of `source`. */
  read(source: FrameSource, group: string, frame: number, options: FrameReadOptions = {}): Promise<FrameData> {
    return this.#core.read(source, { group, frame }, options);
  }

  stats(): FrameSchedulerStats {
    const s = this.#core.stats();
    return {
      requests: s.requests, batches: s.batches, bytesFetched: s.bytesFetched, framesRequested: s.requested,
      framesBatched: s.batched, framesDeduplicated: s.deduplicated, framesRetriedAlone: s.retriedAlone,
      cancelledQueued: s.cancelledQueued, abortedInFlight: s.abortedInFlight, failed: s.failed,
      queued: s.queued, inFlight: s.inFlight,
    };
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
