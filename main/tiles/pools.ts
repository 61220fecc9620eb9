/**
 * What the range scheduler (byte ranges per storage host) and the frame scheduler
 * (DICOMweb frames per archive) share: named pools that bound how many requests are in
 * flight and hold what waits, and small stable ids for the objects requests are keyed by.
 */

/** One connection pool (a host, an archive): its limit, what is in flight, what waits. */
export interface Pool<W> {
  name: string;
  limit: number;
  active: number;
  queue: Set<W>;
}

import { type AppError } from '../common/errors.js';
import { commonErrors } from '../common/errors.js';

export type Priority = 'visible' | 'prefetch' | 'pinning';
/** Lower goes first. */
export const RANK: Record<Priority, number> = { visible: 0, prefetch: 1, pinning: 2 };

/** What a waiter gets when its caller no longer needs the answer. */
export function abortedError(signal: AbortSignal): AppError {
  return commonErrors.make('ABORTED', 'The tile is no longer needed.', { cause: signal.reason });
}

/** A request answered (or failed) for all its waiters at once, and forgotten by the de-duplication map. */
export function settleWaiters<T, W extends { id: string; waiters: Set<T> }>(wants: Map<string, W>, want: W, fn: (waiter: T) => void): void {
  if (wants.get(want.id) === want) wants.delete(want.id);
  const waiters = [...want.waiters];
  want.waiters.clear();
  for (const w of waiters) fn(w);
}

/** What a pool queues: a priority rank (lower goes first) and an arrival number. */
export interface Queued {
  rank: number;
  seq: number;
}

export interface PoolsOptions<W> {
  limitFor(name: string): number;
  /** How long to collect requests before dispatching; 0 = the next macrotask. */
  delayMs: number;
  /** The requests to send together with the most urgent one (coalesced ranges, batched frames). */
  group(pool: Pool<W>, seed: W): W[];
  /** Send them; the scheduler calls schedule() again when a slot frees. */
  start(pool: Pool<W>, wants: W[]): void;
}

export class Pools<W extends Queued> {
  readonly #pools = new Map<string, Pool<W>>();
  readonly #o: PoolsOptions<W>;
  #tick: NodeJS.Immediate | NodeJS.Timeout | undefined;

  constructor(options: PoolsOptions<W>) {
    this.#o = options;
  }

  get(name: string): Pool<W> {
    let pool = this.#pools.get(name);
    if (!pool) {
      pool = { name, limit: Math.max(1, this.#o.limitFor(name)), active: 0, queue: new Set() };
      this.#pools.set(name, pool);
    }
    return pool;
  }

  /** For stats: what waits and what is in flight over every pool. */
  counts(): { queued: number; inFlight: number } {
    let queued = 0;
    let inFlight = 0;
    for (const p of this.#pools.values()) {
      queued += p.queue.size;
      inFlight += p.active;
    }
    return { queued, inFlight };
  }

  /**
   * Dispatch at the next tick, not now: a viewport's worth of requests arrives in one
   * burst, and the scheduler can only group what it has seen.
   */
  schedule(): void {
    if (this.#tick) return;
    const run = (): void => {
      this.#tick = undefined;
      for (const pool of this.#pools.values()) this.#dispatch(pool);
    };
    this.#tick = this.#o.delayMs > 0 ? setTimeout(run, this.#o.delayMs) : setImmediate(run);
  }

  /** While a slot is free: the most urgent request (lowest rank, then oldest), sent with its group. */
  #dispatch(pool: Pool<W>): void {
    while (pool.active < pool.limit && pool.queue.size > 0) {
      let seed: W | undefined;
      for (const w of pool.queue) if (!seed || w.rank < seed.rank || (w.rank === seed.rank && w.seq < seed.seq)) seed = w;
      if (!seed) return;
      this.#o.start(pool, this.#o.group(pool, seed));
    }
  }
}

/** Small stable numbers for objects (readers, sources): de-duplication keys that do not keep the objects alive. */
export class ObjectIds<T extends object> {
  readonly #ids = new WeakMap<T, number>();
  #next = 1;

  of(o: T): number {
    let id = this.#ids.get(o);
    if (id === undefined) {
      id = this.#next++;
      this.#ids.set(o, id);
    }
    return id;
  }
}
