/**
 * What the viewer is waiting for, told to main in one call: the tiles OpenSeadragon is
 * loading right now. The viewer's own tile requests arrive a few at a time (a browser
 * opens at most six HTTP/1.1 connections to the headless host, one of them held by the
 * event stream), so without the hint main would see a 54-tile view as nine rounds of six
 * tiles, each round a full storage round trip, and could coalesce nothing. With it, every
 * tile of the view is asked of the scheduler at once at 'visible' priority: neighbours
 * are read in a few merged requests, and the browser's own requests then find their
 * tile in flight (the scheduler de-duplicates) or in the cache.
 *
 * Each hint replaces the previous one for that slide: a tile the viewer no longer waits
 * for (the user moved on, OSD aborted it) is cancelled, and the scheduler drops its read
 * unless the browser's own request still wants it.
 */
import { logger } from '../common/log.js';
import type { SlideHandle, TileService } from '../tiles/service.js';

const log = logger('tile-hints');

/** A view of a 4K screen at a level boundary is about 150 tiles; more is not a view. */
export const MAX_HINTED_TILES = 512;

export interface TileHint {
  level: number;
  col: number;
  row: number;
  plane?: number;
}

export class TileHints {
  readonly #tiles: TileService;
  /** slide id → tile key → its read's controller. */
  readonly #wanted = new Map<string, Map<string, AbortController>>();

  constructor(tiles: TileService) {
    this.#tiles = tiles;
  }

  /** Returns how many reads were started (tiles not already wanted or cached). */
  want(id: string, handle: SlideHandle, hints: readonly TileHint[]): number {
    const previous = this.#wanted.get(id) ?? new Map<string, AbortController>();
    const next = new Map<string, AbortController>();
    let started = 0;
    for (const h of hints.slice(0, MAX_HINTED_TILES)) {
      const plane = h.plane ?? 0;
      const key = `${h.level}/${h.col}/${h.row}/${plane}`;
      if (next.has(key)) continue;
      const running = previous.get(key);
      if (running) {
        next.set(key, running);
        previous.delete(key);
        continue;
      }
      if (this.#tiles.isCached(handle, h.level, h.col, h.row, plane)) continue;
      const controller = new AbortController();
      next.set(key, controller);
      started += 1;
      this.#tiles
        .getTile(handle, h.level, h.col, h.row, plane, { priority: 'visible', signal: controller.signal })
        .catch((err: unknown) => {
          // The viewer's own request for this tile reports any failure; a hint only warms.
          if (!controller.signal.aborted) log.debug('hinted tile failed', { code: (err as { code?: unknown }).code });
        })
        .finally(() => {
          const current = this.#wanted.get(id);
          if (current?.get(key) === controller) current.delete(key);
        });
    }
    for (const c of previous.values()) c.abort();
    if (next.size) this.#wanted.set(id, next);
    else this.#wanted.delete(id);
    return started;
  }

  /** The slide closed: nothing of it is wanted any more. */
  forget(id: string): void {
    const wanted = this.#wanted.get(id);
    if (!wanted) return;
    this.#wanted.delete(id);
    for (const c of wanted.values()) c.abort();
  }
}
