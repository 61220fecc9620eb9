/**
 * The slides the renderer has open: each `slides.open` gets an unguessable id that names
 * the slide in tile URLs (`/tiles/<id>/<level>/<col>/<row>`), so a URL never carries a
 * storage address or a credential. Open slides belong to the signed-in user: a sign-out
 * or another user closes them all, and their ids stop answering.
 *
 * Only storage addresses (s3://) may be opened from the renderer: a local file is opened
 * through main's own file dialog (not in this version), never by a path the page names.
 *
 * Error codes: SLIDE_NOT_OPEN, SLIDE_BAD_ADDRESS.
 */
import { randomBytes } from 'node:crypto';
import type { CacheStatsInfo, OpenedSlide, SlideSummary } from '../api/contract.js';
import { AppError } from '../common/errors.js';
import { logger } from '../common/log.js';
import type { SlideDescriptor } from '../formats/types.js';
import type { SlideHandle, TileService } from '../tiles/service.js';

const log = logger('slides');

/** Tile URLs are answered under this prefix by main/api/tile-route.ts. */
export const TILE_PATH = '/tiles/';

export class OpenSlides {
  readonly tiles: TileService;
  #open = new Map<string, SlideHandle>();

  constructor(tiles: TileService) {
    this.tiles = tiles;
  }

  async open(uri: string): Promise<OpenedSlide> {
    if (!/^s3:\/\/[^/]+\/.+[^/]$/i.test(uri)) {
      throw new AppError('SLIDE_BAD_ADDRESS', `“${uri}” is not a slide in storage.`, { hint: 'Open a slide file from the storage browser.' });
    }
    const handle = await this.tiles.open(uri);
    const id = randomBytes(16).toString('hex');
    this.#open.set(id, handle);
    log.info('slide opened', { uri, levels: handle.descriptor.levels.length, from: handle.openedFrom, offline: handle.offline });
    return {
      id,
      uri,
      name: decodeURIComponent(uri.slice(uri.lastIndexOf('/') + 1)),
      summary: summarise(handle.descriptor),
      tileUrlTemplate: `${TILE_PATH}${id}/{level}/{col}/{row}`,
      offline: handle.offline,
    };
  }

  /** The handle behind a tile URL's id; undefined when it is not (or no longer) open. */
  get(id: string): SlideHandle | undefined {
    return this.#open.get(id);
  }

  async close(id: string): Promise<void> {
    const handle = this.#open.get(id);
    if (!handle) return;
    this.#open.delete(id);
    await this.tiles.closeSlide(handle);
  }

  async closeAll(): Promise<void> {
    const ids = [...this.#open.keys()];
    await Promise.all(ids.map((id) => this.close(id)));
  }

  cacheStats(): CacheStatsInfo {
    const s = this.tiles.cache.stats();
    return { hits: s.hits, misses: s.misses, bytes: s.sizeBytes, entries: s.entries, budget: s.budgetBytes };
  }
}

export function summarise(d: SlideDescriptor): SlideSummary {
  return {
    format: d.format,
    ...(d.vendor ? { vendor: d.vendor } : {}),
    levels: d.levels.map((l) => ({ width: l.width, height: l.height, tileWidth: l.tileWidth, tileHeight: l.tileHeight, columns: l.columns, rows: l.rows, downsample: l.downsample })),
    ...(d.mpp ? { mpp: { x: d.mpp.x, y: d.mpp.y } } : {}),
    ...(d.objectivePower !== undefined ? { objectivePower: d.objectivePower } : {}),
    pixelKind: d.pixelKind,
    channels: d.channels.map((c) => ({ name: c.name, ...(c.color ? { color: c.color } : {}), bitsPerSample: c.bitsPerSample })),
    associated: d.associated.map((a) => ({ name: a.name, width: a.width, height: a.height })),
    properties: { ...d.properties },
  };
}
