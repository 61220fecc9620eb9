/**
 * The slides the renderer has open: each `slides.open` gets an unguessable id that names
 * the slide in tile URLs (`/tiles/<id>/<level>/<col>/<row>`), so a URL never carries a
 * storage address or a credential. Open slides belong to the signed-in user: a sign-out
 * or another user closes them all, and their ids stop answering.
 *
 * Only storage addresses may be opened from the renderer: objects in a configured S3 bucket
 * (s3://bucket/key) and DICOMweb series of a configured archive
 * (dicomweb://<archive>/studies/…/series/…). A local file opens only after the user chose
 * it in main's own file dialog (`allowLocal`), never by a path the page names: a
 * compromised page cannot read the disk. The rule is main/app/address-check.ts, shared by
 * every call that names an address.
 *
 * Error codes: SLIDE_NOT_OPEN; the address codes of main/app/address-check.ts.
 */
import { randomBytes } from 'node:crypto';
import type { CacheStatsInfo, OpenedSlide, SlideSummary } from '../api/contract.js';
import { logger } from '../common/log.js';
import { parseDicomwebUri } from '../sources/dicomweb/address.js';
import type { SlideDescriptor } from '../formats/types.js';
import type { SlideHandle, TileService } from '../tiles/service.js';
import type { AddressCheck } from './address-check.js';
import { TileHints, type TileHint } from './tile-hints.js';
import { slideName } from './slide-name.js';

const log = logger('slides');

/** Tile URLs are answered under this prefix by main/api/tile-route.ts. */
export const TILE_PATH = '/tiles/';

export class OpenSlides {
  readonly tiles: TileService;
  #open = new Map<string, SlideHandle>();
  readonly #hints: TileHints;
  /** What the renderer may name (shared with pins and the storage browser). */
  readonly addresses: AddressCheck;

  constructor(tiles: TileService, addresses: AddressCheck) {
    this.tiles = tiles;
    this.addresses = addresses;
    this.#hints = new TileHints(tiles);
  }

  /** A file the user chose in main's file dialog: from now on it may be opened by its file:// address. */
  allowLocal(path: string): string {
    return this.addresses.allowLocal(path);
  }

  async open(uri: string): Promise<OpenedSlide> {
    const dicomweb = this.addresses.check(uri).kind === 'dicomweb';
    const handle = await this.tiles.open(uri);
    const id = randomBytes(16).toString('hex');
    this.#open.set(id, handle);
    log.info('slide opened', { uri, levels: handle.descriptor.levels.length, from: handle.openedFrom, offline: handle.offline });
    return {
      id,
      uri,
      name: dicomweb ? seriesName(handle.descriptor, uri) : slideName(uri),
      summary: summarise(handle.descriptor),
      tileUrlTemplate: `${TILE_PATH}${id}/{level}/{col}/{row}`,
      offline: handle.offline,
    };
  }

  /** The handle behind a tile URL's id; undefined when it is not (or no longer) open. */
  get(id: string): SlideHandle | undefined {
    return this.#open.get(id);
  }

  /** The tiles the viewer is loading now (main/app/tile-hints.ts). A hint for a slide no longer open is ignored. */
  want(id: string, tiles: readonly TileHint[]): number {
    const handle = this.#open.get(id);
    return handle ? this.#hints.want(id, handle, tiles) : 0;
  }

  async close(id: string): Promise<void> {
    const handle = this.#open.get(id);
    if (!handle) return;
    this.#hints.forget(id);
    this.#open.delete(id);
    await this.tiles.closeSlide(handle);
  }

  async closeAll(): Promise<void> {
    // Called on sign-out and user change: the next user picks their own files.
    this.addresses.forgetLocal();
    const ids = [...this.#open.keys()];
    await Promise.all(ids.map((id) => this.close(id)));
  }

  cacheStats(): CacheStatsInfo {
    const s = this.tiles.cache.stats();
    return { hits: s.hits, misses: s.misses, bytes: s.sizeBytes, entries: s.entries, budget: s.budgetBytes };
  }
}

/** What a pathologist recognises a DICOM slide by: the slide's barcode, else the series description. */
function seriesName(d: SlideDescriptor, uri: string): string {
  const p = d.properties;
  const named = p['dicom.ContainerIdentifier'] || p['dicom.SeriesDescription'];
  if (named) return named;
  const series = parseDicomwebUri(uri).series;
  return `Series …${series.slice(-12)}`;
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
