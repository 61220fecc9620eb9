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

export class Pools<W> {
  readonly #pools = new Map<string, Pool<W>>();
  readonly #limitFor: (name: string) => number;

  constructor(limitFor: (name: string) => number) {
    this.#limitFor = limitFor;
  }

  get(name: string): Pool<W> {
    let pool = this.#pools.get(name);
    if (!pool) {
      pool = { name, limit: Math.max(1, this.#limitFor(name)), active: 0, queue: new Set() };
      this.#pools.set(name, pool);
    }
    return pool;
  }

  values(): IterableIterator<Pool<W>> {
    return this.#pools.values();
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
