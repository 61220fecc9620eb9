/**
 * Tells main, in one call, the tiles the view needs (`slides.want`), so main reads the
 * whole view at once with merged requests instead of in rounds of as many tiles as the
 * browser has connections (see main/app/tile-hints.ts). Each hint replaces the previous
 * one: tiles no longer needed are cancelled in main too.
 *
 * Two parts: every tile OSD is loading (its own tile matrix, `tile.loading`, whatever level
 * it chose), and the tiles of the level it is heading for over the view it is heading for.
 * OSD starts one tile load per frame, so without the second part a 54-tile view would
 * reach main over a second of frames.
 */
import type OpenSeadragon from 'openseadragon';
import type { OpenedSlide } from '../../../main/api/contract.js';
import { api } from '../api';
import { descriptorLevel } from './tile-source';

interface OsdTile {
  level: number;
  x: number;
  y: number;
  loading: boolean;
}
/** OSD's default: a level is drawn while its pixels are at least half a screen pixel. */
const MIN_PIXEL_RATIO = 0.5;
/** A 4K screen at a level boundary: beyond this the "view" is an animation passing through. */
const MAX_TARGET_TILES = 300;

/** OSD's per-level tile matrix: not in its typings, stable since OSD 2 (TiledImage.tilesMatrix). */
type TileMatrix = Record<string, Record<string, Record<string, OsdTile>>>;

export function loadingTiles(slide: OpenedSlide, item: OpenSeadragon.TiledImage): [number, number, number][] {
  const matrix = (item as unknown as { tilesMatrix?: TileMatrix }).tilesMatrix ?? {};
  const out: [number, number, number][] = [];
  for (const columns of Object.values(matrix)) {
    for (const rows of Object.values(columns)) {
      for (const tile of Object.values(rows)) if (tile.loading) out.push([descriptorLevel(slide, tile.level), tile.x, tile.y]);
    }
  }
  return out;
}

/**
 * The destination view's tiles at the level OSD will draw there: the finest level whose
 * pixels are at least half a screen pixel (OSD's minPixelRatio), as OSD chooses it.
 */
export function targetTiles(slide: OpenedSlide, viewer: OpenSeadragon.Viewer, item: OpenSeadragon.TiledImage): [number, number, number][] {
  const bounds = viewer.viewport.getBounds(false);
  const rect = item.viewportToImageRectangle(bounds);
  const zoom = item.viewportToImageZoom(viewer.viewport.getZoom(false));
  if (!(zoom > 0) || !(rect.width > 0)) return [];
  const levels = slide.summary.levels;
  let target = levels.length - 1;
  for (let l = 0; l < levels.length; l++) {
    if (zoom * levels[l]!.downsample >= MIN_PIXEL_RATIO) {
      target = l;
      break;
    }
  }
  const level = levels[target]!;
  const base = levels[0]!;
  // Level pixels per level-0 pixel, from the widths as the tile source places tiles.
  const s = level.width / base.width;
  const c0 = Math.max(0, Math.floor((rect.x * s) / level.tileWidth));
  const r0 = Math.max(0, Math.floor((rect.y * s) / level.tileHeight));
  const c1 = Math.min(level.columns - 1, Math.floor(((rect.x + rect.width) * s) / level.tileWidth));
  const r1 = Math.min(level.rows - 1, Math.floor(((rect.y + rect.height) * s) / level.tileHeight));
  const out: [number, number, number][] = [];
  for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) out.push([target, c, r]);
  // A view larger than a screenful (a zoomed-out animation frame) is left to OSD's own pace.
  return out.length <= MAX_TARGET_TILES ? out : [];
}

export function installTileHints(
  viewer: OpenSeadragon.Viewer,
  slide: OpenedSlide,
  send: (tiles: [number, number, number][]) => Promise<unknown> = (tiles) => api.call('slides.want', { id: slide.id, tiles }),
): () => void {
  let last = '';
  let sending = false;
  let dirty = false;
  let stopped = false;
  const flush = (): void => {
    const item = viewer.world.getItemAt(0);
    if (!item || stopped) return;
    const seen = new Set<string>();
    const tiles = [...targetTiles(slide, viewer, item), ...loadingTiles(slide, item)].filter((t) => {
      const k = t.join('/');
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    const signature = tiles.map((t) => t.join('/')).sort().join(',');
    if (signature === last) return;
    if (sending) {
      dirty = true;
      return;
    }
    last = signature;
    sending = true;
    // A hint is an optimisation: if it fails, the tiles still come through their own requests.
    void send(tiles)
      .catch(() => undefined)
      .finally(() => {
        sending = false;
        if (dirty) {
          dirty = false;
          flush();
        }
      });
  };
  // Raised after each update pass, which is when OSD starts or gives up tile loads.
  viewer.addHandler('update-viewport', flush);
  return () => {
    stopped = true;
    viewer.removeHandler('update-viewport', flush);
  };
}
