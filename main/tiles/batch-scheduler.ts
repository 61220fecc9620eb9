/**
 * The one batch scheduler: requests for parts of an object (byte ranges of a slide file,
 * frames of a DICOMweb instance) queued per connection pool, sent in batches, answered to
 * every waiter. What a batch is and how it is sent is a strategy: `rangeStrategy`
 * (scheduler.ts: coalesced byte spans) and `frameStrategy` (frames.ts: multi-frame
 * requests). Everything else lives here once:
 *
 * - Priorities: visible > prefetch > pinning, with a queue per pool, so a pinning job
 *   never starves the visible tiles of another slide on the same server. A more urgent
 *   waiter joining a queued request promotes it.
 * - Batching tick (pools.ts): requests are collected for `delayMs` (0 = the next macrotask).
 * - De-duplication: the same part of the same object, queued or in flight, is read once.
 * - Cancellation: a request whose waiters all gave up never leaves the queue; a batch in
 *   flight is aborted only when none of its requests is wanted any more.
 * - Bounded parallelism per pool; the slot is freed before any waiter hears back, and also
 *   when the strategy's `send` throws instead of rejecting.
 * - Retry alone: a failed batch of several requests whose error the strategy names
 *   (`retryAlone`) is split, each request sent on its own in its place in the queue.
 *
 * Error codes: ABORTED (the caller cancelled), TILE_READ_FAILED (wrapping a foreign
 * failure; AppErrors from the source pass through unchanged).
 */
import { isAppError, toAppError, type AppError } from '../common/errors.js';
import { tileErrors } from './errors.js';
import { abortedError, ObjectIds, Pools, RANK, settleWaiters, type Pool, type Priority } from './pools.js';

export interface BatchReadOptions {
  priority?: Priority;
  signal?: AbortSignal;
}

/** One queued request: a part (`req`) of an object (`obj`). */
export interface BatchWant<O, Q, A> {
  readonly id: string;
  readonly obj: O;
  readonly req: Q;
  readonly pool: Pool<BatchWant<O, Q, A>>;
  rank: number;
  readonly seq: number;
  /** Retry after a refused batch: always sent alone. */
  solo: boolean;
  waiters: Set<Waiter<A>>;
  batch: Batch<O, Q, A> | undefined;
}

interface Waiter<A> {
  resolve: (answer: A) => void;
  reject: (err: unknown) => void;
}

interface Batch<O, Q, A> {
  wants: BatchWant<O, Q, A>[];
  controller: AbortController;
}

/** What a batch's send reports: one answer per request, in order, and what it cost. */
export interface BatchAnswer<A> {
  answers: A[];
  requests: number;
  bytes: number;
}

export interface BatchStrategy<O extends object, Q, A> {
  /** Which connection pool the object's requests share. */
  pool(obj: O): string;
  /** The request's identity within its object (de-duplication). */
  key(req: Q): string;
  /**
   * What to send with `seed`: `peers` are the queued requests of the same object and
   * priority (seed included, none retried alone), in arrival order.
   */
  group(pool: Pool<BatchWant<O, Q, A>>, seed: BatchWant<O, Q, A>, peers: BatchWant<O, Q, A>[]): BatchWant<O, Q, A>[];
  send(obj: O, reqs: Q[], signal: AbortSignal): Promise<BatchAnswer<A>>;
  /** The words of TILE_READ_FAILED around a foreign failure. */
  failed(obj: O): string;
  /** The error when `send` answered a different number of parts than asked. */
  miscounted(obj: O, asked: number, got: number): AppError;
  /** Whether a failed batch of several should be retried one request at a time. */
  retryAlone(err: AppError): boolean;
}

export interface BatchStats {
  /** Requests sent (as `send` counted them). */
  requests: number;
  /** `send` calls. */
  batches: number;
  bytesFetched: number;
  /** Distinct parts asked for (after de-duplication). */
  requested: number;
  /** Parts that rode along in another part's batch. */
  batched: number;
  /** Parts answered by a read already queued or in flight. */
  deduplicated: number;
  /** Parts retried alone after their batch was refused. */
  retriedAlone: number;
  cancelledQueued: number;
  abortedInFlight: number;
  failed: number;
  queued: number;
  inFlight: number;
}

export interface BatchSchedulerOptions {
  /** Parallel requests per pool. */
  limitFor: (pool: string) => number;
  /** How long to collect requests before dispatching; 0 = the next macrotask. */
  delayMs: number;
}

export class BatchScheduler<O extends object, Q, A> {
  readonly #strategy: BatchStrategy<O, Q, A>;
  readonly #pools: Pools<BatchWant<O, Q, A>>;
  readonly #wants = new Map<string, BatchWant<O, Q, A>>();
  readonly #objectIds = new ObjectIds<O>();
  #seq = 0;
  #stats = { requests: 0, batches: 0, bytesFetched: 0, requested: 0, batched: 0, deduplicated: 0, retriedAlone: 0, cancelledQueued: 0, abortedInFlight: 0, failed: 0 };

  constructor(strategy: BatchStrategy<O, Q, A>, options: BatchSchedulerOptions) {
    this.#strategy = strategy;
    this.#pools = new Pools<BatchWant<O, Q, A>>({
      limitFor: options.limitFor,
      delayMs: options.delayMs,
      group: (pool, seed) => this.#group(pool, seed),
      start: (pool, wants) => this.#start(pool, wants),
    });
  }

  /** One part of one object. */
  read(obj: O, req: Q, options: BatchReadOptions = {}): Promise<A> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortedError(signal));
    const rank = RANK[options.priority ?? 'visible'];
    const id = `${this.#objectIds.of(obj)}\u0000${this.#strategy.key(req)}`;
    let want = this.#wants.get(id);
    if (want) {
      this.#stats.deduplicated += 1;
      if (!want.batch && rank < want.rank) want.rank = rank;
    } else {
      const pool = this.#pools.get(this.#strategy.pool(obj));
      want = { id, obj, req, pool, rank, seq: this.#seq++, solo: false, waiters: new Set(), batch: undefined };
      this.#wants.set(id, want);
      pool.queue.add(want);
      this.#stats.requested += 1;
    }
    const w = want;
    const promise = new Promise<A>((resolve, reject) => {
      const waiter: Waiter<A> = { resolve, reject };
      w.waiters.add(waiter);
      if (signal) {
        const onAbort = (): void => this.#dropWaiter(w, waiter, abortedError(signal));
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.resolve = (a) => {
          signal.removeEventListener('abort', onAbort);
          resolve(a);
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

  /** How many batches may be in flight at once in the object's pool. */
  parallelism(obj: O): number {
    return this.#pools.get(this.#strategy.pool(obj)).limit;
  }

  stats(): BatchStats {
    return { ...this.#stats, ...this.#pools.counts() };
  }

  #dropWaiter(want: BatchWant<O, Q, A>, waiter: Waiter<A>, reason: AppError): void {
    if (!want.waiters.delete(waiter)) return;
    waiter.reject(reason);
    if (want.waiters.size > 0) return;
    if (!want.batch) {
      // Still queued: it simply never goes out.
      want.pool.queue.delete(want);
      if (this.#wants.get(want.id) === want) this.#wants.delete(want.id);
      this.#stats.cancelledQueued += 1;
      return;
    }
    const batch = want.batch;
    if (batch.wants.every((w) => w.waiters.size === 0) && !batch.controller.signal.aborted) {
      // Forget its parts now so a new request for them starts a fresh read.
      for (const w of batch.wants) if (this.#wants.get(w.id) === w) this.#wants.delete(w.id);
      this.#stats.abortedInFlight += 1;
      batch.controller.abort(reason);
    }
  }

  #group(pool: Pool<BatchWant<O, Q, A>>, seed: BatchWant<O, Q, A>): BatchWant<O, Q, A>[] {
    if (seed.solo) return [seed];
    const peers = [...pool.queue].filter((w) => !w.solo && w.obj === seed.obj && w.rank === seed.rank).sort((a, b) => a.seq - b.seq);
    return this.#strategy.group(pool, seed, peers);
  }

  #start(pool: Pool<BatchWant<O, Q, A>>, wants: BatchWant<O, Q, A>[]): void {
    const batch: Batch<O, Q, A> = { wants, controller: new AbortController() };
    for (const w of wants) {
      pool.queue.delete(w);
      w.batch = batch;
    }
    this.#stats.batched += wants.length - 1;
    this.#stats.batches += 1;
    pool.active += 1;
    const obj = wants[0]!.obj;
    // The slot is free again before any waiter hears back, so stats and the next dispatch see it free.
    let freed = false;
    const free = (): void => {
      if (freed) return;
      freed = true;
      pool.active -= 1;
      this.#pools.schedule();
    };
    // The executor turns a strategy that throws instead of rejecting into a rejection, so the slot is freed on that path too.
    new Promise<BatchAnswer<A>>((resolve) => resolve(this.#strategy.send(obj, wants.map((w) => w.req), batch.controller.signal)))
      .then((result) => {
        free();
        this.#stats.requests += result.requests;
        this.#stats.bytesFetched += result.bytes;
        if (result.answers.length !== wants.length) throw this.#strategy.miscounted(obj, wants.length, result.answers.length);
        wants.forEach((w, i) => settleWaiters(this.#wants, w, (waiter: Waiter<A>) => waiter.resolve(result.answers[i]!)));
      })
      .catch((err: unknown) => {
        free();
        this.#failed(pool, batch, err);
      });
  }

  #failed(pool: Pool<BatchWant<O, Q, A>>, batch: Batch<O, Q, A>, err: unknown): void {
    const { wants, controller } = batch;
    if (controller.signal.aborted) {
      for (const w of wants) settleWaiters(this.#wants, w, (waiter: Waiter<A>) => waiter.reject(abortedError(controller.signal)));
      return;
    }
    const error = toAppError(err, tileErrors, 'TILE_READ_FAILED', this.#strategy.failed(wants[0]!.obj));
    const alive = wants.filter((w) => w.waiters.size > 0);
    if (wants.length > 1 && !isAppError(err, 'ABORTED') && this.#strategy.retryAlone(error)) {
      // Which part the server objected to is unknown: ask each alone, in their places in the queue.
      for (const w of wants) if (w.waiters.size === 0 && this.#wants.get(w.id) === w) this.#wants.delete(w.id);
      for (const w of alive) {
        w.batch = undefined;
        w.solo = true;
        pool.queue.add(w);
      }
      this.#stats.retriedAlone += alive.length;
      this.#pools.schedule();
      return;
    }
    this.#stats.failed += 1;
    for (const w of wants) settleWaiters(this.#wants, w, (waiter: Waiter<A>) => waiter.reject(error));
  }
}
